package dev.buildhost.manager.docker.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** The body of a response with a {@code Content-Length}: that many bytes, then the end. */
final class FixedLengthInputStream extends InputStream {

  private final InputStream in;
  private long left;

  FixedLengthInputStream(InputStream in, long length) {
    this.in = in;
    this.left = length;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
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
