package dev.buildhost.tftp.server;

import dev.buildhost.tftp.path.SafePaths;
import dev.buildhost.tftp.protocol.Netascii;
import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.Packets;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import dev.buildhost.tftp.protocol.TftpRequest;
import dev.buildhost.tftp.protocol.TransferMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An upload (WRQ) into a hidden temporary file next to the target, renamed into place after the
 * last block (before its ACK is sent), so an interrupted upload leaves nothing visible. Blocks in
 * order are written and acknowledged once per window (RFC 7440); a repeated last block is
 * re-acknowledged (the peer lost our ACK); a gap is answered once with the ACK of the last block in
 * order. Size cap, quota and a full file system end the upload with ERROR 3. The quota is checked
 * against the server's running count of stored bytes ({@link StoredBytes}) plus all uploads in
 * progress on every block, and once more, exactly, when the upload is renamed into place.
 */
final class WriteTransfer extends Transfer {
  private Path target;
  private Path temp;
  private FileChannel file;
  private long replacedSize;
  private long accounted; // bytes added to the server's in-flight total
  private ByteBuffer finalAck;
  private long finalBlock;

  WriteTransfer(TftpServer server, TftpRequest request, InetSocketAddress peer) {
    super(server, request, peer);
  }

  @Override
  void transfer() throws TransferFailure, IOException {
    try {
      if (!server.writable) {
        throw new TftpProtocolException(Opcodes.ERR_ACCESS_VIOLATION, "this server is read-only");
      }
      target = server.paths().resolveForWrite(request.fileName());
      boolean exists = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
      if (exists && !server.allowOverwrite) {
        throw new TftpProtocolException(Opcodes.ERR_FILE_EXISTS, "file already exists");
      }
      replacedSize = server.stored().countedFor(target);
      long quotaLeft =
          server.quotaBytes - (server.stored().get() - replacedSize + server.uploadsInFlight());
      long spaceLeft = Files.getFileStore(target.getParent()).getUsableSpace();
      long limit = Math.min(Math.min(server.maxFileSizeBytes, Math.max(0, quotaLeft)), spaceLeft);
      String reason =
          limit == spaceLeft
              ? "free space of the file system"
              : limit == server.maxFileSizeBytes ? "maximum file size" : "quota";
      options = server.negotiator().negotiate(request, -1, limit, reason);
    } catch (TftpProtocolException e) {
      throw new TransferFailure(e.errorCode(), e.getMessage());
    }
    String name = target.getFileName().toString();
    String hidden =
        "."
            + name.substring(0, Math.min(name.length(), 100))
            + "."
            + Long.toHexString(ThreadLocalRandom.current().nextLong())
            + SafePaths.TEMP_SUFFIX; // fits NAME_MAX
    temp = target.resolveSibling(hidden);
    try {
      file = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    } catch (IOException e) {
      temp = null;
      throw new TransferFailure(
          Opcodes.ERR_ACCESS_VIOLATION, "cannot create the file: " + e.getClass().getSimpleName());
    }
    receiveBlocks();
  }

  private void receiveBlocks() throws IOException, TransferFailure {
    final int blockSize = options.blockSize();
    final int window = options.windowSize();
    final Netascii.Decoder decoder =
        request.mode() == TransferMode.NETASCII ? new Netascii.Decoder() : null;
    final ByteBuffer decoded = decoder == null ? null : ByteBuffer.allocate(blockSize + 1);
    final ByteBuffer first =
        options.hasOack()
            ? ByteBuffer.wrap(Packets.oack(options.acknowledged()))
            : Packets.ack(ByteBuffer.allocate(4), 0);
    ByteBuffer reply = first; // the last acknowledgement sent
    long acknowledged = 0; // the block it acknowledged
    long lastInOrder = 0;
    boolean gapAnswered = false;
    int retries = 0;
    send(reply);
    long deadline = System.nanoTime() + timeoutNanos();
    while (true) {
      if (!await(deadline)) {
        if (++retries > server.maxRetries) {
          throw new TransferFailure(
              TransferFailure.NO_ERROR_PACKET,
              "timed out waiting for DATA block " + (lastInOrder + 1));
        }
        // RFC 7440: on a timeout the receiver acknowledges the last block received in order
        reply = lastInOrder == 0 ? first.rewind() : Packets.ack(buffers.ack, (int) lastInOrder);
        acknowledged = lastInOrder;
        send(reply);
        deadline = System.nanoTime() + timeoutNanos();
        continue;
      }
      if (Packets.opcode(received) != Opcodes.DATA || received.limit() < 4) {
        throw unexpected();
      }
      int block = Packets.block(received);
      int delta = (block - (int) (lastInOrder + 1)) & 0xffff;
      if (delta != 0) {
        if (delta >= 0x8000) { // an old block
          if (acknowledged > 0 && block == (int) (acknowledged & 0xffff)) {
            send(reply.rewind()); // the peer re-sent the block we acknowledged: our ACK was lost
          }
        } else if (!gapAnswered) { // a block was lost: tell the peer where to resume
          reply = Packets.ack(buffers.ack, (int) lastInOrder);
          acknowledged = lastInOrder;
          send(reply);
          gapAnswered = true;
        }
        continue;
      }
      int length = received.limit() - 4;
      if (length > blockSize) {
        throw new TransferFailure(
            Opcodes.ERR_ILLEGAL_OPERATION,
            "DATA block of " + length + " bytes exceeds the block size " + blockSize);
      }
      acknowledged(); // the first block in order: the peer has heard from this TID
      boolean lastBlock = length < blockSize;
      write(received.position(4), decoder, decoded, lastBlock);
      lastInOrder++;
      retries = 0;
      gapAnswered = false;
      if (lastBlock) {
        commit();
        finalAck = Packets.ack(buffers.ack, (int) lastInOrder);
        finalBlock = lastInOrder;
        send(finalAck);
        return;
      }
      if (lastInOrder - acknowledged >= window) {
        reply = Packets.ack(buffers.ack, (int) lastInOrder);
        acknowledged = lastInOrder;
        send(reply);
      }
      deadline = System.nanoTime() + timeoutNanos();
    }
  }

  private void write(
      ByteBuffer data, Netascii.Decoder decoder, ByteBuffer decoded, boolean lastBlock)
      throws TransferFailure {
    ByteBuffer out = data;
    if (decoder != null) {
      decoded.clear();
      decoder.decode(data, decoded);
      if (lastBlock) {
        decoder.finish(decoded);
      }
      out = decoded.flip();
    }
    long after = bytes + out.remaining();
    if (after > server.maxFileSizeBytes) {
      throw new TransferFailure(
          Opcodes.ERR_DISK_FULL,
          "upload exceeds the maximum file size of " + server.maxFileSizeBytes + " bytes");
    }
    long inFlight = server.addUploadBytes(out.remaining());
    accounted += out.remaining();
    if (server.quotaBytes != Long.MAX_VALUE
        && server.stored().get() - replacedSize + inFlight > server.quotaBytes) {
      throw overQuota();
    }
    try {
      while (out.hasRemaining()) {
        file.write(out);
      }
    } catch (IOException e) {
      throw new TransferFailure(Opcodes.ERR_DISK_FULL, "cannot write: " + e.getMessage());
    }
    bytes = after;
  }

  private TransferFailure overQuota() {
    return new TransferFailure(
        Opcodes.ERR_DISK_FULL, "upload exceeds the quota of " + server.quotaBytes + " bytes");
  }

  /**
   * Makes the upload visible: sync, close, rename over (or link beside) the target. The rename and
   * the stored-bytes count change together, under the count's lock, with the size of the file
   * replaced at that moment: uploads that finished meanwhile (of this name or others) count
   * exactly.
   */
  private void commit() throws TransferFailure {
    try {
      file.force(true);
      file.close();
    } catch (IOException e) {
      throw new TransferFailure(Opcodes.ERR_DISK_FULL, "cannot write: " + e.getMessage());
    }
    StoredBytes stored = server.stored();
    synchronized (stored) {
      long replaced = stored.countedFor(target);
      if (server.quotaBytes != Long.MAX_VALUE
          && stored.get() - replaced + bytes > server.quotaBytes) {
        throw overQuota();
      }
      try {
        if (server.allowOverwrite) {
          Files.move(
              temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
          Files.createLink(target, temp); // fails if the target appeared meanwhile
          Files.delete(temp);
        }
        temp = null;
      } catch (FileAlreadyExistsException e) {
        throw new TransferFailure(Opcodes.ERR_FILE_EXISTS, "file already exists");
      } catch (IOException e) {
        throw new TransferFailure(
            Opcodes.ERR_ACCESS_VIOLATION, "cannot store the file: " + e.getClass().getSimpleName());
      }
      // stored now, no longer in flight (also while it lingers); in this order a concurrent check
      // may see the bytes in neither for a moment, never in both: the check above is the exact one
      server.addUploadBytes(-accounted);
      accounted = 0;
      stored.stored(target, bytes);
    }
  }

  /**
   * RFC 1350: after the final ACK, wait a while; if the peer re-sends the last block, our ACK was
   * lost, so send it again.
   */
  @Override
  void linger() throws IOException {
    if (finalAck == null) {
      return;
    }
    long lastBlock = finalBlock;
    long deadline = System.nanoTime() + timeoutNanos() * 2;
    try {
      while (await(deadline)) {
        if (Packets.opcode(received) == Opcodes.DATA
            && received.limit() >= 4
            && Packets.block(received) == (int) (lastBlock & 0xffff)) {
          send(finalAck.rewind());
        }
      }
    } catch (TransferFailure stopped) {
      // server stopping: the upload is stored already
    }
  }

  @Override
  void release() {
    server.addUploadBytes(-accounted);
    accounted = 0;
    if (file != null) {
      try {
        file.close();
      } catch (IOException e) {
        LOG.debug("closing upload", e);
      }
    }
    if (temp != null) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException e) {
        LOG.warn("cannot delete temporary upload {}: {}", temp, e.toString());
      }
    }
  }
}
