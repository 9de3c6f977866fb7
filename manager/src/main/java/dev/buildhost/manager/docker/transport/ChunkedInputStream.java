package dev.buildhost.manager.docker.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The body of a response sent with {@code Transfer-Encoding: chunked}, decoded: each chunk's data
 * in turn, then the end of the stream once the last chunk and the trailer are read. A chunk size
 * that is not hexadecimal or beyond {@link Long#MAX_VALUE}, or a chunk not followed by its line
 * end, is an error that says so.
 */
final class ChunkedInputStream extends BulkInputStream {

  /** Longest chunk-size line, extensions included, and longest trailer. */
  private static final int MAX_LINE_BYTES = 8 * 1024;

  private final InputStream in;
  private long left; // bytes left in the current chunk
  private boolean ended;

  ChunkedInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  protected int readSome(byte[] buffer, int offset, int length) throws IOException {
    if (left == 0 && !ended) {
      nextChunk();
    }
    if (ended) {
      return -1;
    }
    int read = in.read(buffer, offset, (int) Math.min(length, left));
    if (read < 0) {
      throw new EOFException("the engine's answer ended inside a chunk");
    }
    left -= read;
    if (left == 0) {
      expectLineEnd();
    }
    return read;
  }

  @Override
  public int available() throws IOException {
    return ended ? 0 : (int) Math.min(left, in.available());
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void nextChunk() throws IOException {
    HttpLines lines = new HttpLines(in, MAX_LINE_BYTES, "chunk-size line");
    String line = lines.next();
    if (line == null) {
      throw new EOFException("the engine's answer ended before its last chunk");
    }
    int extensions = line.indexOf(';');
    String size = (extensions < 0 ? line : line.substring(0, extensions)).strip();
    try {
      left = Long.parseUnsignedLong(size, 16);
    } catch (NumberFormatException e) {
      left = -1;
    }
    if (size.isEmpty() || size.startsWith("+") || left < 0) {
      throw new IOException(
          "malformed chunk size in the engine's answer: " + HttpLines.quote(line));
    }
    if (left == 0) {
      skipTrailer();
      ended = true;
    }
  }

  private void skipTrailer() throws IOException {
    HttpLines trailer = new HttpLines(in, MAX_LINE_BYTES, "trailer");
    for (String line = trailer.next(); ; line = trailer.next()) {
      if (line == null) {
        throw new EOFException("the engine's answer ended inside its trailer");
      }
      if (line.isEmpty()) {
        return;
      }
    }
  }

  private void expectLineEnd() throws IOException {
    int cr = in.read();
    int lf = cr == '\r' ? in.read() : cr;
    if (lf != '\n') {
      throw new IOException("a chunk of the engine's answer is longer than its size says");
    }
  }
}
