package dev.buildhost.tftp.server;

import dev.buildhost.tftp.protocol.Netascii;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Serves a file converted to netascii. The converted length is not known up front, so blocks are
 * produced in order and the most recent window of them is kept for retransmission.
 */
final class NetasciiSource implements BlockSource {
  private final FileChannel file;
  private final int blockSize;
  private final byte[][] ring;
  private final int[] lengths;
  private final ByteBuffer input = ByteBuffer.allocate(16 * 1024).flip();
  private final Netascii.Encoder encoder = new Netascii.Encoder();
  private long produced; // highest block produced so far
  private boolean eof;

  NetasciiSource(FileChannel file, int blockSize, int windowSize) {
    this.file = file;
    this.blockSize = blockSize;
    this.ring = new byte[windowSize + 1][];
    this.lengths = new int[windowSize + 1];
  }

  @Override
  public int read(long block, ByteBuffer packet) throws IOException {
    if (block <= produced - ring.length) {
      throw new IOException("netascii block " + block + " is no longer buffered");
    }
    while (produced < block) {
      produce();
    }
    int slot = (int) (block % ring.length);
    packet.put(ring[slot], 0, lengths[slot]);
    return lengths[slot];
  }

  private void produce() throws IOException {
    long block = produced + 1;
    int slot = (int) (block % ring.length);
    if (ring[slot] == null) {
      ring[slot] = new byte[blockSize];
    }
    ByteBuffer out = ByteBuffer.wrap(ring[slot]);
    while (out.hasRemaining()) {
      if (!input.hasRemaining() && !eof) {
        input.clear();
        eof = file.read(input) < 0;
        input.flip();
      }
      if (!input.hasRemaining() && !encoder.hasPending()) {
        break;
      }
      encoder.encode(input, out);
    }
    lengths[slot] = out.position();
    produced = block;
  }
}
