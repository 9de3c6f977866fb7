package dev.buildhost.tftp.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Serves blocks of a file as they are, reading the file in large positional chunks into a direct
 * buffer (one system call for many blocks) and copying each block into the packet buffer.
 */
final class OctetSource implements BlockSource {
  private final FileChannel file;
  private final int blockSize;
  private final ByteBuffer chunk;
  private final ByteBuffer view;
  private long chunkStart = -1;
  private long chunkEnd = -1;

  OctetSource(FileChannel file, int blockSize, ByteBuffer chunk) {
    this.file = file;
    this.blockSize = blockSize;
    // a whole number of blocks, so that a block never straddles two chunks
    int blocks = Math.max(1, chunk.capacity() / blockSize);
    this.chunk = chunk.clear().limit(blocks * blockSize);
    this.view = chunk.duplicate();
  }

  @Override
  public int read(long block, ByteBuffer packet) throws IOException {
    long offset = (block - 1) * blockSize;
    if (offset < chunkStart || offset >= chunkEnd) {
      fill(offset);
    }
    int length = (int) Math.min(blockSize, chunkEnd - offset);
    if (length <= 0) {
      return 0;
    }
    int from = (int) (offset - chunkStart);
    view.limit(from + length).position(from);
    packet.put(view);
    return length;
  }

  private void fill(long offset) throws IOException {
    chunk.clear().limit(chunk.capacity() / blockSize * blockSize);
    while (chunk.hasRemaining()) {
      int n = file.read(chunk, offset + chunk.position());
      if (n < 0) {
        break;
      }
    }
    chunkStart = offset;
    chunkEnd = offset + chunk.position();
  }
}
