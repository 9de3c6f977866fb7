package dev.buildhost.tftp.server;

import dev.buildhost.tftp.protocol.Opcodes;
import java.nio.ByteBuffer;

/**
 * The buffers of one transfer, pooled (TransferBufferPool) so transfers do not allocate them anew.
 */
final class TransferBuffers {
  /** File bytes read ahead for downloads. */
  static final int CHUNK_SIZE = 256 * 1024;

  /** Room for the largest DATA packet plus one byte, to detect oversized ones. */
  static final int PACKET_SIZE = Opcodes.MAX_BLOCK_SIZE + 5;

  /** Received packets (direct: upload data goes from here to the file without another copy). */
  final ByteBuffer incoming = ByteBuffer.allocateDirect(PACKET_SIZE);

  /** Outgoing DATA packets. */
  final ByteBuffer packet = ByteBuffer.allocateDirect(PACKET_SIZE);

  final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_SIZE);

  /** Outgoing ACK packets. */
  final ByteBuffer ack = ByteBuffer.allocateDirect(4);
}
