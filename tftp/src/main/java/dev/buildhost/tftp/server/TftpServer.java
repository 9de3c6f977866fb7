package dev.buildhost.tftp.server;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.tftp.path.SafePaths;
import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.OptionNegotiator;
import dev.buildhost.tftp.protocol.Packets;
import dev.buildhost.tftp.protocol.Printable;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import dev.buildhost.tftp.protocol.TftpRequest;
import dev.buildhost.tftp.slots.TransferSlots;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TFTP server: a bind address and port, a root folder, a mode (read-only or writable) and
 * limits. Many can run in one process; {@link #close()} releases the port and all threads.
 *
 * <pre>{@code
 * try (TftpServer server = TftpServer.builder(root).port(0).writable(true).build().start()) {
 *   int port = server.port();
 * }
 * }</pre>
 *
 * <p>A {@link RequestLoop} receives requests on the server's port (one loop, one thread, may serve
 * many servers: see {@link Builder#requestLoop}); each transfer then runs on its own ephemeral port
 * (its TID) on a thread of the server's pool. A request needs one of {@code maxTransfers} slots, of
 * which one client address holds at most {@code maxTransfersPerClient}; a transfer the client has
 * not acknowledged yet gives its slot up to a new request when the slots run out ({@link
 * TransferSlots}) and ends at the first-ACK deadline anyway. Requests that get no slot are answered
 * with an ERROR. Threads of the pool end when idle and when the server closes.
 */
public final class TftpServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");
  private static final AtomicInteger SERVER_IDS = new AtomicInteger();

  /**
   * The default cap on the timeout option: a stalled transfer holds its slot for at most ~(retries
   * + 1) x this.
   */
  public static final int DEFAULT_MAX_TIMEOUT_SECONDS = 10;

  private final Path requestedRoot;
  private final InetAddress bindAddress;
  private final int requestedPort;
  final boolean writable;
  final long quotaBytes;
  private final boolean quotaCountsExistingFiles;
  final long maxFileSizeBytes;
  final boolean allowOverwrite;
  final int maxTransfers;
  final int maxRetries;

  /** The server's retransmission timeout; also the longest one before a transfer's first ACK. */
  final Duration timeout;

  final Duration firstAckTimeout;
  private final OptionNegotiator negotiator;
  private final TransferListener listener;

  private final Object lifecycle = new Object();
  private final TransferSlots<Transfer> slots;

  /** Transfers whose thread runs: those holding a slot and evicted ones still ending. */
  private final Set<Transfer> active = ConcurrentHashMap.newKeySet();

  /** The shared loop's pool when the server has one, else the server's own. */
  private final TransferBufferPool bufferPool;

  private final AtomicLong uploadsInFlight = new AtomicLong();
  private final Path sharedRoot;
  private final Predicate<String> sharedHidden;
  private SafePaths paths;
  private SafePaths sharedPaths;
  private StoredBytes stored;
  private final RequestLoop sharedLoop;
  private RequestLoop loop;
  private volatile DatagramChannel socket;
  private InetSocketAddress localAddress;
  private final ByteBuffer requestBuffer = ByteBuffer.allocate(Opcodes.MAX_REQUEST_LENGTH + 1);
  private ThreadPoolExecutor pool;
  private volatile boolean closed;

  public static Builder builder(Path root) {
    return new Builder(root);
  }

  private TftpServer(Builder b) {
    this.requestedRoot = b.root;
    this.bindAddress = b.bindAddress;
    this.requestedPort = b.port;
    this.writable = b.writable;
    this.quotaBytes = b.quotaBytes;
    this.quotaCountsExistingFiles = b.quotaCountsExistingFiles;
    this.maxFileSizeBytes = b.maxFileSizeBytes;
    this.allowOverwrite = b.allowOverwrite;
    this.maxTransfers = b.maxTransfers;
    this.maxRetries = b.maxRetries;
    this.timeout = b.timeout;
    this.firstAckTimeout = b.firstAckTimeout();
    this.negotiator =
        new OptionNegotiator(
            b.maxBlockSize, b.maxWindowSize, b.timeout.toMillis(), b.maxTimeoutSeconds);
    this.listener = b.listener;
    this.sharedRoot = b.sharedRoot;
    this.sharedHidden = b.sharedHidden;
    this.slots = new TransferSlots<>(b.maxTransfers, b.maxTransfersPerClient());
    this.sharedLoop = b.requestLoop;
    this.bufferPool =
        b.requestLoop != null ? b.requestLoop.transferBuffers() : new TransferBufferPool();
  }

  /** Binds the socket and starts serving; returns this. Fails if the port is taken. */
  public TftpServer start() throws IOException {
    synchronized (lifecycle) {
      if (socket != null || closed) {
        throw new IllegalStateException("a server starts once");
      }
      paths = new SafePaths(requestedRoot);
      if (sharedRoot != null) {
        sharedPaths = new SafePaths(sharedRoot);
      }
      if (writable) {
        stored = StoredBytes.measure(paths.root(), quotaCountsExistingFiles);
      }
      DatagramChannel channel = DatagramChannel.open(family());
      try {
        channel.bind(new InetSocketAddress(bindAddress, requestedPort));
      } catch (IOException e) {
        channel.close();
        throw new IOException(
            "cannot bind TFTP server to "
                + bindAddress.getHostAddress()
                + ":"
                + requestedPort
                + ": "
                + e.getMessage(),
            e);
      }
      localAddress = (InetSocketAddress) channel.getLocalAddress();
      String name = "tftp-" + localAddress.getPort() + "-" + SERVER_IDS.incrementAndGet();
      // twice the slots: an evicted transfer's thread may still be ending when its successor starts
      pool =
          new ThreadPoolExecutor(
              0,
              2 * maxTransfers,
              10,
              TimeUnit.SECONDS,
              new SynchronousQueue<>(),
              Threads.daemonFactory(name + "-transfer"));
      socket = channel; // volatile: the loop's thread, reading it first, sees the fields above
      try {
        loop = sharedLoop != null ? sharedLoop : RequestLoop.start(name + "-requests");
        loop.register(channel, this::receiveRequests);
      } catch (IOException | RuntimeException e) {
        socket = null;
        channel.close();
        pool.shutdown();
        if (loop != null && loop != sharedLoop) {
          loop.close();
        }
        throw e;
      }
      LOG.debug(
          "TFTP server on {} serving {} ({})",
          localAddress,
          paths.root(),
          writable ? "writable" : "read-only");
      return this;
    }
  }

  public InetSocketAddress localAddress() {
    synchronized (lifecycle) {
      if (localAddress == null) {
        throw new IllegalStateException("the server is not started");
      }
      return localAddress;
    }
  }

  public int port() {
    return localAddress().getPort();
  }

  /** The root as resolved at start (symbolic links followed). */
  public Path root() {
    synchronized (lifecycle) {
      return paths == null ? requestedRoot : paths.root();
    }
  }

  public boolean isWritable() {
    return writable;
  }

  /** Transfers running now. */
  public int activeTransfers() {
    return active.size();
  }

  /**
   * Stops serving, aborts transfers in flight (no partial uploads stay visible), frees the port.
   */
  @Override
  public void close() {
    ThreadPoolExecutor transfers;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      transfers = pool;
    }
    DatagramChannel channel = socket;
    if (channel == null) {
      return;
    }
    // Returns once no request is being handled and the port is free.
    loop.release(channel);
    if (loop != sharedLoop) {
      loop.close();
    }
    try {
      for (Transfer t : active) {
        t.abort();
      }
      transfers.shutdown();
      if (!transfers.awaitTermination(10, TimeUnit.SECONDS)) {
        transfers.shutdownNow();
        LOG.warn("TFTP server {}: transfers did not stop within 10 s", localAddress);
      }
    } catch (InterruptedException e) {
      transfers.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (sharedLoop == null) {
      bufferPool.clear();
    }
    LOG.debug("TFTP server on {} stopped", localAddress);
  }

  private ProtocolFamily family() {
    return bindAddress instanceof Inet4Address
        ? StandardProtocolFamily.INET
        : StandardProtocolFamily.INET6;
  }

  /** On the loop's thread: handles every request waiting on the port, without blocking. */
  private void receiveRequests() {
    byte[] bytes = requestBuffer.array();
    while (!closed) {
      SocketAddress from;
      try {
        requestBuffer.clear();
        from = socket.receive(requestBuffer);
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("TFTP server {}: receiving a request failed: {}", localAddress, e.toString());
        }
        return;
      }
      if (from == null) {
        return; // nothing more waiting
      }
      if (!(from instanceof InetSocketAddress peer)) {
        continue;
      }
      try {
        handleRequest(peer, bytes, requestBuffer.position());
      } catch (RuntimeException e) {
        LOG.error("TFTP server {}: request from {} failed", localAddress, from, e);
      }
    }
  }

  private void handleRequest(InetSocketAddress from, byte[] bytes, int length) {
    TftpRequest request;
    try {
      request = TftpRequest.parse(bytes, 0, length);
    } catch (TftpProtocolException e) {
      if (length >= 2 && bytes[0] == 0 && bytes[1] == Opcodes.ERROR) {
        LOG.warn("TFTP server {}: ignored an ERROR packet from {}", localAddress, from);
        return;
      }
      LOG.warn(
          "TFTP server {}: refused a packet of {} bytes from {}: {}",
          localAddress,
          length,
          from,
          e.getMessage());
      reply(from, e.errorCode(), e.getMessage());
      return;
    }
    if (request.duplicateOptions() > 0) {
      LOG.warn(
          "TFTP server {}: request from {} repeats options; the first of each counts",
          localAddress,
          from);
    }
    if (repeats(request, from)) {
      // A client that got no answer yet sends its request again from the same port (busybox tftp
      // after 100 ms): the transfer under way answers it. A second transfer would send to a
      // client that ignores it, and fail at its first-ACK deadline.
      LOG.debug(
          "TFTP server {}: {} repeated its request for {}; the transfer under way answers it",
          localAddress,
          from,
          Printable.quote(request.fileName()));
      return;
    }
    fire(TransferEvent.Kind.REQUESTED, request, from, 0, Duration.ZERO, null);
    Transfer transfer =
        request.isWrite()
            ? new WriteTransfer(this, request, from)
            : new ReadTransfer(this, request, from);
    TransferSlots.Admission<Transfer> admission = slots.admit(from.getAddress(), transfer);
    if (admission instanceof TransferSlots.Refused<Transfer> refused) {
      LOG.warn(
          "TFTP server {}: refused {} {} from {}: {}",
          localAddress,
          request.isWrite() ? "WRQ" : "RRQ",
          Printable.quote(request.fileName()),
          from,
          refused.reason());
      reply(from, Opcodes.ERR_UNDEFINED, refused.reason());
      fire(TransferEvent.Kind.FAILED, request, from, 0, Duration.ZERO, refused.reason());
      return;
    }
    Transfer evicted = ((TransferSlots.Admitted<Transfer>) admission).evicted();
    if (evicted != null) {
      evicted.abort(
          "not acknowledged, and its slot was needed for a new request", Opcodes.ERR_UNDEFINED);
    }
    DatagramChannel channel = null;
    try {
      channel = DatagramChannel.open(family());
      channel.bind(new InetSocketAddress(localAddress.getAddress(), 0));
      transfer.channel = channel;
      active.add(transfer);
      try {
        pool.execute(transfer);
      } catch (RejectedExecutionException e) {
        active.remove(transfer);
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      slots.release(transfer);
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // nothing more to do
        }
      }
      String reason = closed ? "server stopped" : "cannot start the transfer: " + e;
      if (!closed) {
        LOG.warn("TFTP server {}: {}", localAddress, reason);
        reply(from, Opcodes.ERR_UNDEFINED, "cannot start the transfer");
      }
      fire(TransferEvent.Kind.FAILED, request, from, 0, Duration.ZERO, reason);
    }
  }

  /** Whether a transfer of the same request for the same client address and port runs. */
  private boolean repeats(TftpRequest request, InetSocketAddress from) {
    for (Transfer transfer : active) {
      if (transfer.peer.equals(from)
          && transfer.request.isWrite() == request.isWrite()
          && transfer.request.fileName().equals(request.fileName())) {
        return true;
      }
    }
    return false;
  }

  private void reply(InetSocketAddress to, int code, String message) {
    try {
      socket.send(ByteBuffer.wrap(Packets.error(code, message)), to);
    } catch (IOException e) {
      LOG.debug("sending an error to {}", to, e);
    }
  }

  void fire(TransferEvent.Kind kind, Transfer transfer, long bytes, Duration took, String reason) {
    fire(kind, transfer.request, transfer.peer, bytes, took, reason);
  }

  private void fire(
      TransferEvent.Kind kind,
      TftpRequest request,
      InetSocketAddress peer,
      long bytes,
      Duration took,
      String reason) {
    try {
      listener.onTransfer(
          new TransferEvent(
              kind,
              peer,
              SafePaths.relativeName(request.fileName()),
              request.isWrite(),
              bytes,
              took,
              reason));
    } catch (RuntimeException e) {
      LOG.warn("TFTP transfer listener failed", e);
    }
  }

  void transferEnded(Transfer transfer) {
    active.remove(transfer);
    slots.release(transfer);
  }

  /**
   * The peer acknowledged {@code transfer} for the first time; false if it lost its slot meanwhile.
   */
  boolean acknowledged(Transfer transfer) {
    return slots.acknowledged(transfer);
  }

  SafePaths paths() {
    return paths;
  }

  /**
   * The file a read request names: in the root, else (when set) in the shared read-only tree,
   * unless its real path lies in a top-level folder the shared tree hides, which reads as absent.
   */
  Path resolveForRead(String requested) throws TftpProtocolException {
    try {
      return paths.resolveForRead(requested);
    } catch (TftpProtocolException e) {
      if (sharedPaths == null || e.errorCode() != Opcodes.ERR_FILE_NOT_FOUND) {
        throw e;
      }
    }
    Path shared = sharedPaths.resolveForRead(requested);
    Path relative = sharedPaths.root().relativize(shared);
    if (relative.getNameCount() < 1
        || shared.startsWith(paths.root())
        || sharedHidden.test(relative.getName(0).toString())) {
      // Said exactly as for a missing file: a guest learns nothing of what it may not read.
      throw new TftpProtocolException(Opcodes.ERR_FILE_NOT_FOUND, "file not found");
    }
    return shared;
  }

  OptionNegotiator negotiator() {
    return negotiator;
  }

  TransferBuffers takeBuffers() {
    return bufferPool.take();
  }

  void returnBuffers(TransferBuffers buffers) {
    // A closed server's own pool goes with it; a shared loop's serves its other servers.
    if (!closed || sharedLoop != null) {
      bufferPool.give(buffers);
    }
  }

  long uploadsInFlight() {
    return uploadsInFlight.get();
  }

  long addUploadBytes(long delta) {
    return uploadsInFlight.addAndGet(delta);
  }

  /** The running count of the bytes under a writable root that count against the quota. */
  StoredBytes stored() {
    return stored;
  }

  public static final class Builder {
    private final Path root;
    private InetAddress bindAddress = InetAddress.getLoopbackAddress();
    private int port = 69;
    private boolean writable;
    private long quotaBytes = Long.MAX_VALUE;
    private boolean quotaCountsExistingFiles = true;
    private long maxFileSizeBytes = Long.MAX_VALUE;
    private boolean allowOverwrite = true;
    private int maxBlockSize = 65464;
    private int maxWindowSize = 64;
    private int maxTransfers = 64;
    private int maxTransfersPerClient; // 0: three quarters of maxTransfers
    private int maxTimeoutSeconds = DEFAULT_MAX_TIMEOUT_SECONDS;
    private Duration timeout = Duration.ofSeconds(1);
    private Duration firstAckTimeout; // null: twice the timeout
    private int maxRetries = 5;
    private TransferListener listener = event -> {};
    private Path sharedRoot;
    private Predicate<String> sharedHidden = name -> false;
    private RequestLoop requestLoop;

    private Builder(Path root) {
      this.root = Objects.requireNonNull(root, "root");
    }

    public Builder bindAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address);
      return this;
    }

    /** 0 picks a free port. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder writable(boolean writable) {
      this.writable = writable;
      return this;
    }

    public Builder quotaBytes(long bytes) {
      this.quotaBytes = bytes;
      return this;
    }

    /**
     * Whether the files in the root when the server starts count against the quota (the default),
     * or only what its uploads store: an instance's server, whose folder holds the task files the
     * host put there, counts only what the guest uploads.
     */
    public Builder quotaCountsExistingFiles(boolean count) {
      this.quotaCountsExistingFiles = count;
      return this;
    }

    public Builder maxFileSizeBytes(long bytes) {
      this.maxFileSizeBytes = bytes;
      return this;
    }

    public Builder allowOverwrite(boolean allow) {
      this.allowOverwrite = allow;
      return this;
    }

    public Builder maxBlockSize(int size) {
      this.maxBlockSize = size;
      return this;
    }

    public Builder maxWindowSize(int size) {
      this.maxWindowSize = size;
      return this;
    }

    public Builder maxTransfers(int count) {
      this.maxTransfers = count;
      return this;
    }

    /**
     * Slots one client address may hold, 1 to maxTransfers; default three quarters of maxTransfers
     * (at least 1): not all, yet room for many clients behind one address (QEMU user networking
     * makes every VM's requests come from 127.0.0.1).
     */
    public Builder maxTransfersPerClient(int count) {
      this.maxTransfersPerClient = count;
      return this;
    }

    /**
     * Largest timeout option (RFC 2349) accepted, 1-255 s; a larger one is ignored. Default 10 s.
     */
    public Builder maxTimeoutSeconds(int seconds) {
      this.maxTimeoutSeconds = seconds;
      return this;
    }

    /**
     * How long a transfer may wait for the client's first acknowledgement before it ends, at least
     * the timeout; default twice the timeout (one retransmission).
     */
    public Builder firstAckTimeout(Duration timeout) {
      this.firstAckTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /**
     * A read-only tree that reads fall back to when the root lacks the file (writes never go
     * there): e.g. an instance's writable folder over the shared toolchain tree. Files whose real
     * path lies in a top-level folder of {@code tree} for which {@code hidden} is true (other
     * instances' folders) read as absent.
     */
    public Builder readFallback(Path tree, Predicate<String> hidden) {
      this.sharedRoot = Objects.requireNonNull(tree, "tree");
      this.sharedHidden = Objects.requireNonNull(hidden, "hidden");
      return this;
    }

    /**
     * The loop that receives this server's requests, shared with other servers (the daemon's
     * instance servers: one thread for all their ports); its owner closes it after them. Default:
     * the server starts a loop of its own and closes it with itself.
     */
    public Builder requestLoop(RequestLoop loop) {
      this.requestLoop = Objects.requireNonNull(loop, "loop");
      return this;
    }

    public Builder listener(TransferListener listener) {
      this.listener = Objects.requireNonNull(listener);
      return this;
    }

    /** Retransmission timeout unless the client negotiates one (RFC 2349); default 1 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** Retransmissions before a transfer is given up; default 5. */
    public Builder maxRetries(int retries) {
      this.maxRetries = retries;
      return this;
    }

    public TftpServer build() {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be within 0-65535: " + port);
      }
      if (quotaBytes < 0 || maxFileSizeBytes < 0) {
        throw new IllegalArgumentException("quota and maximum file size must not be negative");
      }
      if (maxTransfers < 1) {
        throw new IllegalArgumentException("maxTransfers must be at least 1: " + maxTransfers);
      }
      if (maxRetries < 0) {
        throw new IllegalArgumentException("maxRetries must not be negative: " + maxRetries);
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      if (maxTransfersPerClient != 0
          && (maxTransfersPerClient < 1 || maxTransfersPerClient > maxTransfers)) {
        throw new IllegalArgumentException(
            "maxTransfersPerClient must be within 1-"
                + maxTransfers
                + " (maxTransfers): "
                + maxTransfersPerClient);
      }
      if (maxTimeoutSeconds < 1 || maxTimeoutSeconds > OptionNegotiator.MAX_TIMEOUT_SECONDS) {
        throw new IllegalArgumentException(
            "maxTimeoutSeconds must be within 1-255: " + maxTimeoutSeconds);
      }
      if (firstAckTimeout().compareTo(timeout) < 0) {
        throw new IllegalArgumentException(
            "firstAckTimeout ("
                + firstAckTimeout()
                + ") must not be shorter than the timeout ("
                + timeout
                + ")");
      }
      return new TftpServer(this);
    }

    int maxTransfersPerClient() {
      return maxTransfersPerClient != 0 ? maxTransfersPerClient : Math.max(1, maxTransfers * 3 / 4);
    }

    Duration firstAckTimeout() {
      return firstAckTimeout != null ? firstAckTimeout : timeout.multipliedBy(2);
    }
  }
}
