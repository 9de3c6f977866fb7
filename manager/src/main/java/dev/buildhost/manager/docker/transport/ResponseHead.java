package dev.buildhost.manager.docker.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The status line and header fields of an HTTP/1.1 response, read with limits: an engine that sends
 * an endless head gets an error, not the daemon's heap.
 *
 * @param status the status code
 * @param headers the fields by name, looked up regardless of case
 */
record ResponseHead(int status, Map<String, List<String>> headers) {

  /** Longest head read (status line and fields, line ends included). */
  static final int MAX_BYTES = 64 * 1024;

  ResponseHead {
    TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((name, values) -> copy.put(name, List.copyOf(values)));
    headers = Collections.unmodifiableMap(copy);
  }

  /** The first value of the field {@code name}, or null. */
  String header(String name) {
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** Whether the field {@code name} holds {@code token} in its comma-separated list. */
  boolean hasToken(String name, String token) {
    for (String value : headers.getOrDefault(name, List.of())) {
      for (String part : value.split(",")) {
        if (part.strip().equalsIgnoreCase(token)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Reads a head from {@code in}, up to and including the empty line that ends it.
   *
   * @throws IOException when the stream ends first, or the head is malformed or longer than {@link
   *     #MAX_BYTES}; the message says which
   */
  static ResponseHead read(InputStream in) throws IOException {
    HttpLines lines = new HttpLines(in, MAX_BYTES, "head");
    String statusLine = lines.next();
    if (statusLine == null) {
      throw new EOFException("the engine closed the connection before it answered");
    }
    int status = status(statusLine);
    Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (String line = lines.next(); ; line = lines.next()) {
      if (line == null) {
        throw new EOFException("the engine's answer ended inside its header fields");
      }
      if (line.isEmpty()) {
        break;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IOException(
            "malformed header field in the engine's answer: " + HttpLines.quote(line));
      }
      headers
          .computeIfAbsent(line.substring(0, colon).strip(), name -> new ArrayList<>())
          .add(line.substring(colon + 1).strip());
    }
    return new ResponseHead(status, headers);
  }

  /** The code of a status line such as {@code HTTP/1.1 200 OK}. */
  private static int status(String line) throws IOException {
    String[] parts = line.split(" ", 3);
    if (parts.length < 2
        || !parts[0].startsWith("HTTP/1.")
        || !parts[1].matches("[1-5][0-9][0-9]")) {
      throw new IOException(
          "malformed status line in the engine's answer: " + HttpLines.quote(line));
    }
    return Integer.parseInt(parts[1]);
  }
}
