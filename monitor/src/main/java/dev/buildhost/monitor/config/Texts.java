package dev.buildhost.monitor.config;

/** Quoting of untrusted text in messages: control characters escaped, long text cut. */
public final class Texts {
  private Texts() {}

  public static String shown(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 120; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (b.length() >= 120 && s.length() > 120) {
      b.append("...");
    }
    return b.toString();
  }
}
