package dev.buildhost.common.size;

import dev.buildhost.common.text.Texts;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as people write them: digits, optional blanks, and an optional binary unit K, M, G or T
 * (any case, {@code B}, {@code iB} after it accepted: {@code 16G}, {@code 4096 MiB}, {@code 512k}).
 * Units are powers of 1024. What a plain number counts is the caller's {@link Unit}: bytes for a
 * TFTP quota, MiB for the daemon's RAM budget.
 */
public final class Sizes {

  /** The unit of a number written without one. */
  public enum Unit {
    BYTES(1),
    KIB(1L << 10),
    MIB(1L << 20),
    GIB(1L << 30);

    private final long bytes;

    Unit(long bytes) {
      this.bytes = bytes;
    }

    public long bytes() {
      return bytes;
    }
  }

  private static final Pattern SIZE = Pattern.compile("([0-9]{1,19})\\s*(?:([KMGT])(?:I?B)?|(B))?");

  private Sizes() {}

  /**
   * The number of bytes {@code text} names.
   *
   * @throws IllegalArgumentException quoting the text when it is no size or more than a long holds
   */
  public static long parseBytes(String text, Unit plainUnit) {
    String value = text == null ? "" : text.strip().toUpperCase(Locale.ROOT);
    Matcher m = SIZE.matcher(value);
    if (m.matches()) {
      try {
        long n = Long.parseLong(m.group(1));
        long factor =
            m.group(2) != null
                ? 1L << (10 * ("KMGT".indexOf(m.group(2)) + 1))
                : m.group(3) != null ? 1 : plainUnit.bytes();
        return Math.multiplyExact(n, factor);
      } catch (NumberFormatException | ArithmeticException e) {
        throw new IllegalArgumentException("'" + Texts.shown(text) + "' is too large a size");
      }
    }
    throw new IllegalArgumentException(
        "'" + Texts.shown(String.valueOf(text)) + "' is not a size; write e.g. 512K, 16G or 4096M");
  }

  /** {@link #parseBytes} in whole MiB, rounded down. */
  public static long parseMib(String text, Unit plainUnit) {
    return parseBytes(text, plainUnit) / Unit.MIB.bytes();
  }
}
