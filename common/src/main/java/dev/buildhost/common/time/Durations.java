package dev.buildhost.common.time;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration grammar of buildhost's flags and config files, the union of what the daemon and
 * the monitor accepted before they shared it:
 *
 * <ul>
 *   <li>a plain number of seconds: {@code 90};
 *   <li>one or more number-unit parts, units {@code ms s m h d} in any case, blanks allowed between
 *       a number and its unit: {@code 500ms}, {@code 30 s}, {@code 1h30m}, {@code 2H};
 *   <li>ISO-8601 in any case: {@code PT1H30M}, {@code pt5m}, {@code P1D}.
 * </ul>
 *
 * Negative durations are never accepted; whether zero is allowed is the caller's decision ({@link
 * #parse} allows it, {@link #parsePositive} does not).
 */
public final class Durations {

  /** What every error message shows, so that a user sees the accepted forms at once. */
  public static final String FORMS =
      "500ms, 90s, 30m, 2h, 1h30m, 1d, a plain number of seconds, or PT1H30M";

  private static final Pattern PLAIN = Pattern.compile("[0-9]{1,12}");
  private static final Pattern PARTS =
      Pattern.compile("(?:[0-9]{1,12}\\s*(?:ms|s|m|h|d))+", Pattern.CASE_INSENSITIVE);
  private static final Pattern PART =
      Pattern.compile("([0-9]{1,12})\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);

  private Durations() {}

  /**
   * The duration {@code text} names, zero included.
   *
   * @throws IllegalArgumentException quoting the text and listing the accepted forms
   */
  public static Duration parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("no duration given; write e.g. " + FORMS);
    }
    String value = text.strip();
    try {
      if (PLAIN.matcher(value).matches()) {
        return Duration.ofSeconds(Long.parseLong(value));
      }
      if (PARTS.matcher(value).matches()) {
        Duration total = Duration.ZERO;
        Matcher part = PART.matcher(value);
        while (part.find()) {
          total =
              total.plus(
                  unit(Long.parseLong(part.group(1)), part.group(2).toLowerCase(Locale.ROOT)));
        }
        return total;
      }
      if (value.startsWith("P") || value.startsWith("p")) {
        Duration iso = Duration.parse(value.toUpperCase(Locale.ROOT));
        if (!iso.isNegative()) {
          return iso;
        }
      }
    } catch (ArithmeticException | DateTimeParseException e) {
      // too large or not ISO: the uniform message below says what is accepted
    }
    throw new IllegalArgumentException(
        "'" + shown(text) + "' is not a duration; write e.g. " + FORMS);
  }

  /** As {@link #parse}, and zero is refused too. */
  public static Duration parsePositive(String text) {
    Duration duration = parse(text);
    if (duration.isZero()) {
      throw new IllegalArgumentException("'" + shown(text) + "' is not a positive duration");
    }
    return duration;
  }

  /**
   * The shortest form that {@link #parse} reads back as the same duration (milliseconds precision).
   */
  public static String format(Duration duration) {
    long ms = duration.toMillis();
    if (ms > 0 && ms % 86_400_000 == 0) {
      return ms / 86_400_000 + "d";
    }
    if (ms > 0 && ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms > 0 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  private static Duration unit(long n, String unit) {
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  private static String shown(String text) {
    return dev.buildhost.common.text.Texts.shown(text);
  }
}
