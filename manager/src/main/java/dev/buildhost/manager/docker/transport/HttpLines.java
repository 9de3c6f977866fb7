package dev.buildhost.manager.docker.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The lines of an HTTP/1.1 message's head, chunk sizes or trailer: ended by CRLF (or a bare LF),
 * read as ISO-8859-1 text, with a budget in bytes for all of them together.
 */
final class HttpLines {

  private final InputStream in;
  private final int limit;
  private final String what;
  private int budget;

  /**
   * @param what what the lines are, for the error once they exceed {@code limit} ("head")
   */
  HttpLines(InputStream in, int limit, String what) {
    this.in = in;
    this.limit = limit;
    this.what = what;
    this.budget = limit;
  }

  /** The next line without its end, or null when the stream ends before any byte of it. */
  String next() throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); ; b = in.read()) {
      if (b < 0) {
        if (line.length() == 0) {
          return null;
        }
        throw new EOFException(
            "the engine's answer ended inside a line: " + quote(line.toString()));
      }
      if (--budget < 0) {
        throw new IOException(
            "the engine's answer has a " + what + " longer than " + limit + " bytes");
      }
      if (b == '\n') {
        int end = line.length();
        if (end > 0 && line.charAt(end - 1) == '\r') {
          line.setLength(end - 1);
        }
        return line.toString();
      }
      line.append((char) b);
    }
  }

  /**
   * {@code line} for an error message: quoted, cut at 80 characters, control characters shown as ?.
   */
  static String quote(String line) {
    String shown = line.length() > 80 ? line.substring(0, 80) + "..." : line;
    return "\"" + shown.replaceAll("\\p{Cntrl}", "?") + "\"";
  }
}
