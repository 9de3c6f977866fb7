package dev.buildhost.tftp.protocol;

/** Makes client-supplied text safe for log lines and error messages. */
public final class Printable {
  private static final int MAX = 80;

  private Printable() {}

  /** Quotes text, escaping control and non-ASCII characters and shortening long input. */
  public static String quote(String text) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), MAX) + 8).append('"');
    int n = Math.min(text.length(), MAX);
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || c > 0x7e) {
        out.append(String.format("\\x%02x", (int) c & 0xff));
      } else {
        out.append(c);
      }
    }
    out.append('"');
    if (text.length() > MAX) {
      out.append("...(").append(text.length()).append(" chars)");
    }
    return out.toString();
  }
}
