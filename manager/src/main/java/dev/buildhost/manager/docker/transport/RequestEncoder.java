package dev.buildhost.manager.docker.transport;

import com.github.dockerjava.transport.DockerHttpClient.Request;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes a docker-java request as HTTP/1.1 on a connection of its own: the request line, its header
 * fields, the fields that frame it, then its body. A path or field that would split the request (a
 * line end, a space in the path) is refused before anything is written.
 */
final class RequestEncoder {

  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  private static final Pattern PATH = Pattern.compile("/[\\x21-\\x7e]*");
  private static final Pattern FIELD_VALUE = Pattern.compile("[\\x20-\\x7e\\t\\x80-\\xff]*");

  /** The fields that frame the message: this class writes them, never the caller's. */
  private static final Set<String> FRAMING =
      Set.of("host", "connection", "upgrade", "content-length", "transfer-encoding");

  private RequestEncoder() {}

  /**
   * Checks {@code request} and writes it to {@code out}, body included; with {@code hijack}, asks
   * the engine to hand the connection over to the raw stream ({@code Upgrade: tcp}).
   *
   * @throws IllegalArgumentException when the method, path or a header field cannot be sent as they
   *     are; the message names which
   */
  static void write(Request request, boolean hijack, OutputStream out) throws IOException {
    String method = request.method();
    if (!TOKEN.matcher(method).matches()) {
      throw new IllegalArgumentException("not an HTTP method: " + HttpLines.quote(method));
    }
    if (!PATH.matcher(request.path()).matches()) {
      throw new IllegalArgumentException(
          "not a request path (it must start with / and hold no space or control character): "
              + HttpLines.quote(request.path()));
    }
    for (Map.Entry<String, String> field : request.headers().entrySet()) {
      if (!TOKEN.matcher(field.getKey()).matches()
          || !FIELD_VALUE.matcher(field.getValue()).matches()) {
        throw new IllegalArgumentException(
            "header field "
                + HttpLines.quote(field.getKey())
                + " cannot be sent: it holds a line end or control character");
      }
    }
    StringBuilder head = new StringBuilder(256);
    head.append(method).append(' ').append(request.path()).append(" HTTP/1.1\r\n");
    head.append("Host: docker\r\n");
    request
        .headers()
        .forEach(
            (name, value) -> {
              if (!FRAMING.contains(name.toLowerCase(Locale.ROOT))) {
                head.append(name).append(": ").append(value).append("\r\n");
              }
            });
    head.append(hijack ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n");
    byte[] bytes = request.bodyBytes();
    InputStream stream = bytes == null ? request.body() : null;
    if (stream != null) {
      head.append("Transfer-Encoding: chunked\r\n\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      ChunkedOutputStream chunks = new ChunkedOutputStream(out);
      stream.transferTo(chunks);
      chunks.finish();
    } else {
      if (bytes != null || (!method.equals("GET") && !method.equals("DELETE"))) {
        head.append("Content-Length: ").append(bytes == null ? 0 : bytes.length).append("\r\n");
      }
      head.append("\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      if (bytes != null) {
        out.write(bytes);
      }
    }
    out.flush();
  }
}
