package dev.buildhost.manager.docker.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** The body of a response with a {@code Content-Length}: that many bytes, then the end. */
final class FixedLengthInputStream extends BulkInputStream {

  private final InputStream in;
  private long left;

  FixedLengthInputStream(InputStream in, long length) {
    this.in = in;
    this.left = length;
  }

  @Override
  protected int readSome(byte[] buffer, int offset, int length) throws IOException {
    if (left == 0) {
      return -1;
    }
    int read = in.read(buffer, offset, (int) Math.min(length, left));
    if (read < 0) {
      throw new EOFException(
          "the engine's answer ended " + left + " bytes before the length it announced");
    }
    left -= read;
    return read;
  }

  @Override
  public int available() throws IOException {
    return (int) Math.min(left, in.available());
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
