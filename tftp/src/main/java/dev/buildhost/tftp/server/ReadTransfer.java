package dev.buildhost.tftp.server;

import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.Packets;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import dev.buildhost.tftp.protocol.TftpRequest;
import dev.buildhost.tftp.protocol.TransferMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A download (RRQ): windowed sending (RFC 7440; a window of 1 is RFC 1350 lock-step). An ACK that
 * advances starts the next window right after the acknowledged block; a duplicate ACK is ignored
 * (no Sorcerer's Apprentice); only a timeout re-sends, from the oldest unacknowledged block.
 */
final class ReadTransfer extends Transfer {
  private FileChannel file;

  ReadTransfer(TftpServer server, TftpRequest request, InetSocketAddress peer) {
    super(server, request, peer);
  }

  @Override
  void transfer() throws TransferFailure, IOException {
    Path path;
    long size;
    try {
      path = server.resolveForRead(request.fileName());
      try {
        file = FileChannel.open(path, StandardOpenOption.READ);
      } catch (AccessDeniedException e) {
        throw new TftpProtocolException(Opcodes.ERR_ACCESS_VIOLATION, "permission denied");
      }
      size = file.size();
      options =
          server
              .negotiator()
              .negotiate(request, request.mode() == TransferMode.OCTET ? size : -1, 0, "");
    } catch (TftpProtocolException e) {
      throw new TransferFailure(e.errorCode(), e.getMessage());
    }
    if (options.hasOack()) {
      sendOack();
    }
    BlockSource source =
        request.mode() == TransferMode.OCTET
            ? new OctetSource(file, options.blockSize(), buffers.chunk)
            : new NetasciiSource(file, options.blockSize(), options.windowSize());
    sendBlocks(source);
  }

  private void sendOack() throws IOException, TransferFailure {
    ByteBuffer oack = ByteBuffer.wrap(Packets.oack(options.acknowledged()));
    int retries = 0;
    send(oack);
    long deadline = System.nanoTime() + timeoutNanos();
    while (true) {
      if (!await(deadline)) {
        if (++retries > server.maxRetries) {
          throw new TransferFailure(
              TransferFailure.NO_ERROR_PACKET, "timed out waiting for the ACK of the OACK");
        }
        send(oack.rewind());
        deadline = System.nanoTime() + timeoutNanos();
        continue;
      }
      int opcode = Packets.opcode(received);
      if (opcode == Opcodes.ACK && received.limit() >= 4) {
        if (Packets.block(received) == 0) {
          acknowledged();
          return;
        }
        continue; // stray ACK: ignore
      }
      throw unexpected();
    }
  }

  private void sendBlocks(BlockSource source) throws IOException, TransferFailure {
    final int blockSize = options.blockSize();
    final int window = options.windowSize();
    final ByteBuffer packet = buffers.packet;
    long base = 1; // oldest unacknowledged block
    long next = 1; // next block to send
    long last = -1; // the final (short) block, once known
    int lastLength = 0;
    int retries = 0;
    long prepared = -1; // the block whose DATA packet is in the buffer, not sent yet
    while (true) {
      while (next < base + window && (last < 0 || next <= last)) {
        if (prepared != next) {
          prepare(source, next, packet);
        }
        prepared = -1;
        int length = packet.limit() - 4;
        send(packet);
        if (length < blockSize) {
          last = next;
          lastLength = length;
        }
        next++;
      }
      // While the peer takes in the window, build the packet the next window most likely starts
      // with: reading the file is then off the path from its ACK to our answer.
      if (last < 0) {
        prepare(source, next, packet);
        prepared = next;
      }
      long deadline = System.nanoTime() + timeoutNanos(); // longer once the peer acknowledged
      boolean advanced = false;
      while (!advanced) {
        if (!await(deadline)) {
          if (++retries > server.maxRetries) {
            throw new TransferFailure(
                TransferFailure.NO_ERROR_PACKET,
                "timed out waiting for the ACK of block "
                    + (next - 1)
                    + (last == next - 1 ? " (the final block)" : ""));
          }
          next = base; // re-send the window from the oldest unacknowledged block
          break;
        }
        int opcode = Packets.opcode(received);
        if (opcode != Opcodes.ACK || received.limit() < 4) {
          throw unexpected();
        }
        long acked = (base - 1) + ((Packets.block(received) - (base - 1)) & 0xffff);
        if (acked >= base && acked < next) {
          acknowledged();
          if (acked == last) {
            bytes = (last - 1) * blockSize + lastLength;
            return;
          }
          bytes = acked * blockSize;
          base = acked + 1;
          next = base;
          retries = 0;
          advanced = true;
        }
        // otherwise a duplicate or stale ACK: ignored, only a timeout re-sends
      }
    }
  }

  private static void prepare(BlockSource source, long block, ByteBuffer packet)
      throws IOException {
    packet.clear();
    packet.putShort((short) Opcodes.DATA).putShort((short) block);
    source.read(block, packet);
    packet.flip();
  }

  @Override
  void release() {
    if (file != null) {
      try {
        file.close();
      } catch (IOException e) {
        LOG.debug("closing file", e);
      }
    }
  }
}
