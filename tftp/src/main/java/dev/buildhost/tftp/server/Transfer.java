package dev.buildhost.tftp.server;

import dev.buildhost.tftp.protocol.NegotiatedOptions;
import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.Packets;
import dev.buildhost.tftp.protocol.Printable;
import dev.buildhost.tftp.protocol.TftpRequest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One transfer on its own socket (its TID, RFC 1350), run on one pool thread from request to end.
 * Packets from any other address or port get ERROR 5 and leave the transfer undisturbed.
 *
 * <p>Until the peer first acknowledges (an ACK for a download, DATA block 1 for an upload) the
 * transfer is only a claim made by one datagram, possibly with a forged source: it retransmits at
 * the server's timeout even if a longer one was negotiated, and ends at the server's first-ACK
 * deadline, so that such claims never hold a slot for long.
 */
abstract class Transfer implements Runnable {
  static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");

  // UnnecessaryLambda: a constant made when the class loads, so that await(), which times the
  // peer's answer, never links a method reference on its first call.
  @SuppressWarnings("UnnecessaryLambda")
  private static final Consumer<SelectionKey> IGNORE = key -> {};

  /** The longest {@link #await} polls before it sleeps. */
  private static final long MAX_POLL_NANOS = 250_000;

  private static final int CPUS = Runtime.getRuntime().availableProcessors();

  /** Transfers running in this process, over all servers. */
  private static final AtomicInteger RUNNING = new AtomicInteger();

  final TftpServer server;
  final TftpRequest request;
  final InetSocketAddress peer;

  /** Set by the server once the transfer holds a slot, before it runs. */
  DatagramChannel channel;

  final long startNanos = System.nanoTime();
  private final long firstAckDeadlineNanos;
  private boolean acknowledged;
  private volatile String abortReason;
  private volatile int abortErrorCode;
  private boolean released;
  TransferBuffers buffers;
  private Selector selector;

  /** The packet {@link #await} received: [0, limit). */
  ByteBuffer received;

  long bytes;
  NegotiatedOptions options;

  /** Timeouts so far (each one re-sent something). */
  int timeouts;

  private long pollNanos = MAX_POLL_NANOS;

  Transfer(TftpServer server, TftpRequest request, InetSocketAddress peer) {
    this.server = server;
    this.request = request;
    this.peer = peer;
    this.firstAckDeadlineNanos = startNanos + server.firstAckTimeout.toNanos();
  }

  /** Runs the protocol; returns normally once the transfer completed. */
  abstract void transfer() throws TransferFailure, IOException;

  /** After the COMPLETED event: lets a transfer answer late retransmissions (RFC 1350 dally). */
  void linger() throws IOException {}

  /** Releases what the subclass holds (files); called once, after the transfer ended either way. */
  abstract void release();

  private void releaseOnce() {
    if (!released) {
      released = true;
      release();
    }
  }

  @Override
  public final void run() {
    String kind = request.isWrite() ? "WRQ" : "RRQ";
    RUNNING.incrementAndGet();
    try {
      buffers = server.takeBuffers();
      received = buffers.incoming;
      channel.configureBlocking(false);
      selector = Selector.open();
      channel.register(selector, SelectionKey.OP_READ);
      transfer();
      Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
      LOG.info(
          "{} {} {} {}: completed, {} bytes in {} ms ({}){}",
          kind,
          peer,
          Printable.quote(request.fileName()),
          request.mode().wireName(),
          bytes,
          took.toMillis(),
          rate(bytes, took),
          describeOptions());
      server.fire(TransferEvent.Kind.COMPLETED, this, bytes, took, null);
      try {
        linger();
      } catch (IOException | RuntimeException e) {
        LOG.debug("after the transfer", e);
      }
    } catch (TransferFailure f) {
      releaseOnce(); // a failed upload is gone before the peer hears of the failure
      fail(kind, f.errorCode(), f.getMessage());
    } catch (IOException | RuntimeException e) {
      releaseOnce();
      fail(kind, Opcodes.ERR_UNDEFINED, "internal error: " + e);
    } finally {
      releaseOnce();
      if (selector != null) {
        try {
          selector.close();
        } catch (IOException e) {
          LOG.debug("closing selector", e);
        }
      }
      if (buffers != null) {
        server.returnBuffers(buffers);
      }
      try {
        channel.close();
      } catch (IOException e) {
        LOG.debug("closing channel", e);
      }
      server.transferEnded(this);
      RUNNING.decrementAndGet();
    }
  }

  private void fail(String kind, int errorCode, String reason) {
    String aborted = abortReason;
    if (aborted
        != null) { // what stopping the transfer from outside did to it shows up here as an error
      errorCode = abortErrorCode;
      reason = aborted;
    }
    if (errorCode != TransferFailure.NO_ERROR_PACKET) {
      sendQuietly(ByteBuffer.wrap(Packets.error(errorCode, reason)), peer);
    }
    Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
    LOG.warn(
        "{} {} {} {}: failed after {} bytes in {} ms: {}",
        kind,
        peer,
        Printable.quote(request.fileName()),
        request.mode().wireName(),
        bytes,
        took.toMillis(),
        reason);
    server.fire(TransferEvent.Kind.FAILED, this, bytes, took, reason);
  }

  private String describeOptions() {
    String retransmissions = timeouts == 0 ? "" : ", " + timeouts + " timeouts";
    if (options == null || !options.hasOack()) {
      return retransmissions;
    }
    return ", options " + options.acknowledged() + retransmissions;
  }

  private static String rate(long bytes, Duration took) {
    double seconds = Math.max(took.toNanos(), 1) / 1e9;
    return String.format("%.1f MB/s", bytes / seconds / 1e6);
  }

  /**
   * Stops the transfer from another thread (the server stops); it ends without sending anything
   * more.
   */
  final void abort() {
    abort("server stopped", TransferFailure.NO_ERROR_PACKET);
  }

  /**
   * Stops the transfer from another thread: it ends with {@code reason}, sending it to the peer as
   * an ERROR with {@code errorCode} unless that is {@link TransferFailure#NO_ERROR_PACKET}.
   */
  final void abort(String reason, int errorCode) {
    abortErrorCode = errorCode;
    abortReason = reason;
    Selector s = selector;
    if (s != null) {
      s.wakeup();
    }
  }

  /**
   * The peer acknowledged something: from the first time on, the transfer is a real one, which the
   * server never evicts and which uses the negotiated timeout.
   */
  final void acknowledged() throws TransferFailure {
    if (acknowledged) {
      return;
    }
    acknowledged = true;
    if (!server.acknowledged(this)) {
      String reason = abortReason;
      throw new TransferFailure(
          TransferFailure.NO_ERROR_PACKET, reason != null ? reason : "lost its slot");
    }
  }

  final void send(ByteBuffer packet) throws IOException {
    channel.send(packet, peer);
  }

  final void sendQuietly(ByteBuffer packet, SocketAddress to) {
    try {
      channel.send(packet, to);
    } catch (IOException | RuntimeException e) {
      LOG.debug("sending to {}", to, e);
    }
  }

  /**
   * Waits until a packet from the peer arrives (into {@link #received}) or the deadline passes. It
   * polls first, for up to {@link #pollNanos}, and sleeps after that: on loopback and fast links
   * the answer comes within tens of microseconds, sooner than the kernel wakes a sleeping thread
   * (on a virtual machine an idle CPU is woken through the hypervisor). Polling made lock-step
   * downloads 2.5 times faster in bench/tftp. It polls only while fewer transfers run in this
   * process than there are CPUs, so the peer and the other transfers keep a CPU.
   */
  final boolean await(long deadlineNanos) throws IOException, TransferFailure {
    long began = System.nanoTime();
    if (!acknowledged) {
      deadlineNanos = Math.min(deadlineNanos, firstAckDeadlineNanos);
    }
    long pollUntil = RUNNING.get() < CPUS ? Math.min(began + pollNanos, deadlineNanos) : began;
    while (true) {
      String aborted = abortReason;
      if (aborted != null) {
        throw new TransferFailure(abortErrorCode, aborted);
      }
      SocketAddress from = channel.receive(received.clear());
      if (from != null) {
        received.flip();
        if (peer.equals(from)) {
          adaptPolling(System.nanoTime() - began);
          return true;
        }
        unknownTid(from);
        continue;
      }
      long now = System.nanoTime();
      if (now < pollUntil) {
        Thread.onSpinWait();
        continue;
      }
      long remaining = deadlineNanos - now;
      if (remaining <= 0) {
        if (!acknowledged && now - firstAckDeadlineNanos >= 0) {
          throw new TransferFailure(
              TransferFailure.NO_ERROR_PACKET,
              "not acknowledged within "
                  + server.firstAckTimeout.toMillis()
                  + " ms of the request");
        }
        timeouts++;
        adaptPolling(now - began);
        return false;
      }
      selector.select(IGNORE, Math.max(1, (remaining + 999_999) / 1_000_000));
    }
  }

  /**
   * A peer that answered within the polling budget gets the whole budget next time; for one that
   * did not, polling halves each time, down to none for a slow peer (a guest under emulation).
   */
  private void adaptPolling(long answeredAfterNanos) {
    pollNanos = answeredAfterNanos <= MAX_POLL_NANOS ? MAX_POLL_NANOS : pollNanos / 2;
  }

  private void unknownTid(SocketAddress from) {
    LOG.warn(
        "{} {}: packet from unknown TID {}: answered with ERROR 5",
        request.isWrite() ? "WRQ" : "RRQ",
        peer,
        from);
    sendQuietly(
        ByteBuffer.wrap(Packets.error(Opcodes.ERR_UNKNOWN_TID, "unknown transfer ID")), from);
  }

  /** Handles a packet that is neither expected nor ignorable: an ERROR from the peer or garbage. */
  final TransferFailure unexpected() {
    int opcode = Packets.opcode(received);
    if (opcode == Opcodes.ERROR) {
      return new TransferFailure(
          TransferFailure.NO_ERROR_PACKET, "peer sent " + Packets.describeError(received));
    }
    return new TransferFailure(
        Opcodes.ERR_ILLEGAL_OPERATION,
        "unexpected packet (opcode " + opcode + ", " + received.limit() + " bytes)");
  }

  /**
   * The retransmission timeout now: the negotiated one once the peer acknowledged, at most the
   * server's before.
   */
  final long timeoutNanos() {
    long negotiated = options.timeoutMillis() * 1_000_000L;
    return acknowledged ? negotiated : Math.min(negotiated, server.timeout.toNanos());
  }
}
