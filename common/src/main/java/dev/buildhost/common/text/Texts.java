package dev.buildhost.common.text;

/** Quoting of untrusted text in messages: control characters escaped, long text cut. */
public final class Texts {

  static final int MAX_SHOWN = 120;

  private Texts() {}

  /**
   * {@code s} safe to put in a log line or an error: no control characters, at most 120 characters
   * and "...".
   */
  public static String shown(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < MAX_SHOWN; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (b.length() >= MAX_SHOWN && s.length() > MAX_SHOWN) {
      b.append("...");
    }
    return b.toString();
  }
}
