package dev.buildhost.tftp.server;

import dev.buildhost.tftp.path.SafePaths;
import dev.buildhost.tftp.protocol.OptionNegotiator;
import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.Packets;
import dev.buildhost.tftp.protocol.Printable;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import dev.buildhost.tftp.protocol.TftpRequest;
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
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>One thread receives requests on the server's port; each transfer then runs on its own
 * ephemeral port (its TID) on a thread of a pool bounded by {@code maxTransfers}. Requests beyond
 * that cap are answered with an ERROR. Threads of the pool end when idle and when the server closes.
 */
public final class TftpServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");
  private static final AtomicInteger SERVER_IDS = new AtomicInteger();

  private final Path requestedRoot;
  private final InetAddress bindAddress;
  private final int requestedPort;
  final boolean writable;
  final long quotaBytes;
  final long maxFileSizeBytes;
  final boolean allowOverwrite;
  final int maxTransfers;
  final int maxRetries;
  private final OptionNegotiator negotiator;
  private final TransferListener listener;

  private final Object lifecycle = new Object();
  private final Semaphore slots;
  private final Set<Transfer> active = ConcurrentHashMap.newKeySet();
  private final ConcurrentLinkedQueue<TransferBuffers> bufferPool = new ConcurrentLinkedQueue<>();
  private final AtomicLong uploadsInFlight = new AtomicLong();
  private SafePaths paths;
  private DatagramChannel socket;
  private InetSocketAddress localAddress;
  private Thread receiver;
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
    this.maxFileSizeBytes = b.maxFileSizeBytes;
    this.allowOverwrite = b.allowOverwrite;
    this.maxTransfers = b.maxTransfers;
    this.maxRetries = b.maxRetries;
    this.negotiator = new OptionNegotiator(b.maxBlockSize, b.maxWindowSize, b.timeout.toMillis());
    this.listener = b.listener;
    this.slots = new Semaphore(b.maxTransfers);
  }

  /** Binds the socket and starts serving; returns this. Fails if the port is taken. */
  public TftpServer start() throws IOException {
    synchronized (lifecycle) {
      if (socket != null || closed) {
        throw new IllegalStateException("a server starts once");
      }
      paths = new SafePaths(requestedRoot);
      if (writable) {
        removeStaleUploads();
      }
      DatagramChannel channel = DatagramChannel.open(family());
      try {
        channel.bind(new InetSocketAddress(bindAddress, requestedPort));
      } catch (IOException e) {
        channel.close();
        throw new IOException("cannot bind TFTP server to " + bindAddress.getHostAddress() + ":" + requestedPort
            + ": " + e.getMessage(), e);
      }
      socket = channel;
      localAddress = (InetSocketAddress) channel.getLocalAddress();
      String name = "tftp-" + localAddress.getPort() + "-" + SERVER_IDS.incrementAndGet();
      AtomicInteger threadIds = new AtomicInteger();
      pool = new ThreadPoolExecutor(0, maxTransfers, 10, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
        Thread t = new Thread(r, name + "-transfer-" + threadIds.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      receiver = new Thread(this::receiveRequests, name + "-requests");
      receiver.setDaemon(true);
      receiver.start();
      LOG.debug("TFTP server on {} serving {} ({})", localAddress, paths.root(), writable ? "writable" : "read-only");
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

  /** Stops serving, aborts transfers in flight (no partial uploads stay visible), frees the port. */
  @Override
  public void close() {
    Thread receiving;
    ThreadPoolExecutor transfers;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      receiving = receiver;
      transfers = pool;
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException e) {
          LOG.debug("closing socket", e);
        }
      }
    }
    if (receiving == null) {
      return;
    }
    try {
      receiving.join(5_000);
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
    bufferPool.clear();
    LOG.debug("TFTP server on {} stopped", localAddress);
  }

  private ProtocolFamily family() {
    return bindAddress instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
  }

  private void receiveRequests() {
    ByteBuffer buffer = ByteBuffer.allocateDirect(Opcodes.MAX_REQUEST_LENGTH + 1);
    byte[] bytes = new byte[Opcodes.MAX_REQUEST_LENGTH + 1];
    while (!closed) {
      SocketAddress from;
      try {
        buffer.clear();
        from = socket.receive(buffer);
      } catch (ClosedChannelException e) {
        break;
      } catch (IOException e) {
        if (closed) {
          break;
        }
        LOG.warn("TFTP server {}: receiving a request failed: {}", localAddress, e.toString());
        continue;
      }
      if (!(from instanceof InetSocketAddress peer)) {
        continue;
      }
      buffer.flip();
      int length = buffer.remaining();
      buffer.get(bytes, 0, length);
      try {
        handleRequest(peer, bytes, length);
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
      LOG.warn("TFTP server {}: refused a packet of {} bytes from {}: {}", localAddress, length, from, e.getMessage());
      reply(from, e.errorCode(), e.getMessage());
      return;
    }
    if (request.duplicateOptions() > 0) {
      LOG.warn("TFTP server {}: request from {} repeats options; the first of each counts", localAddress, from);
    }
    fire(TransferEvent.Kind.REQUESTED, request, from, 0, Duration.ZERO, null);
    if (!slots.tryAcquire()) {
      String reason = "too many concurrent transfers (" + maxTransfers + "), try again later";
      LOG.warn("TFTP server {}: refused {} {} from {}: {}", localAddress, request.isWrite() ? "WRQ" : "RRQ",
          Printable.quote(request.fileName()), from, reason);
      reply(from, Opcodes.ERR_UNDEFINED, reason);
      fire(TransferEvent.Kind.FAILED, request, from, 0, Duration.ZERO, reason);
      return;
    }
    DatagramChannel channel = null;
    try {
      channel = DatagramChannel.open(family());
      channel.bind(new InetSocketAddress(localAddress.getAddress(), 0));
      Transfer transfer = request.isWrite() ? new WriteTransfer(this, request, from, channel)
          : new ReadTransfer(this, request, from, channel);
      active.add(transfer);
      try {
        pool.execute(transfer);
      } catch (RejectedExecutionException e) {
        active.remove(transfer);
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      slots.release();
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

  private void fire(TransferEvent.Kind kind, TftpRequest request, InetSocketAddress peer, long bytes, Duration took,
                    String reason) {
    try {
      listener.onTransfer(new TransferEvent(kind, peer, request.fileName(), request.isWrite(), bytes, took, reason));
    } catch (RuntimeException e) {
      LOG.warn("TFTP transfer listener failed", e);
    }
  }

  void transferEnded(Transfer transfer) {
    if (active.remove(transfer)) {
      slots.release();
    }
  }

  SafePaths paths() {
    return paths;
  }

  OptionNegotiator negotiator() {
    return negotiator;
  }

  TransferBuffers takeBuffers() {
    TransferBuffers buffers = bufferPool.poll();
    return buffers != null ? buffers : new TransferBuffers();
  }

  void returnBuffers(TransferBuffers buffers) {
    if (!closed) {
      bufferPool.offer(buffers);
    }
  }

  long uploadsInFlight() {
    return uploadsInFlight.get();
  }

  long addUploadBytes(long delta) {
    return uploadsInFlight.addAndGet(delta);
  }

  /** Bytes of the files stored under the root (uploads in progress not included). */
  long usage() throws IOException {
    AtomicLong total = new AtomicLong();
    Files.walkFileTree(paths.root(), new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isRegularFile() && !file.getFileName().toString().endsWith(SafePaths.TEMP_SUFFIX)) {
          total.addAndGet(attrs.size());
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) {
        return FileVisitResult.CONTINUE;
      }
    });
    return total.get();
  }

  /** Temporary files of uploads cut short by a crash are never visible; remove them. */
  private void removeStaleUploads() throws IOException {
    Files.walkFileTree(paths.root(), new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        String name = file.getFileName().toString();
        if (attrs.isRegularFile() && name.startsWith(".") && name.endsWith(SafePaths.TEMP_SUFFIX)) {
          Files.deleteIfExists(file);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) {
        return FileVisitResult.CONTINUE;
      }
    });
  }

  public static final class Builder {
    private final Path root;
    private InetAddress bindAddress = InetAddress.getLoopbackAddress();
    private int port = 69;
    private boolean writable;
    private long quotaBytes = Long.MAX_VALUE;
    private long maxFileSizeBytes = Long.MAX_VALUE;
    private boolean allowOverwrite = true;
    private int maxBlockSize = 65464;
    private int maxWindowSize = 64;
    private int maxTransfers = 64;
    private Duration timeout = Duration.ofSeconds(1);
    private int maxRetries = 5;
    private TransferListener listener = event -> { };

    private Builder(Path root) {
      this.root = Objects.requireNonNull(root, "root");
    }

    public Builder bindAddress(InetAddress address) { this.bindAddress = Objects.requireNonNull(address); return this; }
    /** 0 picks a free port. */
    public Builder port(int port) { this.port = port; return this; }
    public Builder writable(boolean writable) { this.writable = writable; return this; }
    public Builder quotaBytes(long bytes) { this.quotaBytes = bytes; return this; }
    public Builder maxFileSizeBytes(long bytes) { this.maxFileSizeBytes = bytes; return this; }
    public Builder allowOverwrite(boolean allow) { this.allowOverwrite = allow; return this; }
    public Builder maxBlockSize(int size) { this.maxBlockSize = size; return this; }
    public Builder maxWindowSize(int size) { this.maxWindowSize = size; return this; }
    public Builder maxTransfers(int count) { this.maxTransfers = count; return this; }
    public Builder listener(TransferListener listener) { this.listener = Objects.requireNonNull(listener); return this; }
    /** Retransmission timeout unless the client negotiates one (RFC 2349); default 1 s. */
    public Builder timeout(Duration timeout) { this.timeout = Objects.requireNonNull(timeout); return this; }
    /** Retransmissions before a transfer is given up; default 5. */
    public Builder maxRetries(int retries) { this.maxRetries = retries; return this; }

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
      return new TftpServer(this);
    }
  }
}
