package dev.buildhost.tftp.server;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Produces the data of DATA packets for a download, block by block. */
interface BlockSource {
  /**
   * Appends the data of block {@code block} (1-based, not wrapped) to {@code packet} and returns
   * its length; a length below the block size marks the last block. A source must serve any block
   * from the last acknowledged one on (retransmission of a window).
   */
  int read(long block, ByteBuffer packet) throws IOException;
}
