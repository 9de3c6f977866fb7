package dev.buildhost.manager.docker.transport;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A request body of unknown length sent with {@code Transfer-Encoding: chunked}: each write is a
 * chunk, {@link #finish()} writes the last one. Closing it does not close the connection.
 */
final class ChunkedOutputStream extends OutputStream {

  private static final byte[] LINE_END = {'\r', '\n'};

  private final OutputStream out;

  ChunkedOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] buffer, int offset, int length) throws IOException {
    if (length == 0) {
      return; // an empty chunk would end the body
    }
    out.write(Integer.toHexString(length).getBytes(StandardCharsets.US_ASCII));
    out.write(LINE_END);
    out.write(buffer, offset, length);
    out.write(LINE_END);
  }

  /** Writes the last chunk and the empty trailer. */
  void finish() throws IOException {
    out.write('0');
    out.write(LINE_END);
    out.write(LINE_END);
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }
}
