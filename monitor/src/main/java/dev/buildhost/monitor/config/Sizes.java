package dev.buildhost.monitor.config;

import dev.buildhost.common.text.Texts;
import java.util.Locale;

/**
 * Byte sizes as people write them: {@code 65536}, {@code 512k}, {@code 1m}, {@code 4g} (powers of
 * 1024).
 */
public final class Sizes {
  private Sizes() {}

  /**
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static long parse(String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    if (t.matches("[0-9]{1,15}[kmgt]?")) {
      char unit = t.charAt(t.length() - 1);
      int shift =
          switch (unit) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
          };
      long n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
      if (n > 0 && n <= (Long.MAX_VALUE >> shift)) {
        return n << shift;
      }
    }
    throw new IllegalArgumentException(
        "'"
            + Texts.shown(text)
            + "' is not a size larger than 0 such as 65536,"
            + " 512k, 1m or 4g");
  }
}
