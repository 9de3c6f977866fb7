package dev.buildhost.manager.docker.transport;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/** An input stream that reads in bulk only: a single byte is a bulk read of one. */
abstract class BulkInputStream extends InputStream {

  @Override
  public final int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public final int read(byte[] buffer, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, buffer.length);
    return length == 0 ? 0 : readSome(buffer, offset, length);
  }

  /** Reads 1 to {@code length} bytes, blocking until at least one is there, or -1 at the end. */
  protected abstract int readSome(byte[] buffer, int offset, int length) throws IOException;
}
