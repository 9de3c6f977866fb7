package dev.buildhost.tftp.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * One TFTP server: a bind address and port, a root folder, a mode (read-only or writable) and
 * limits. Many can run in one process; {@link #close()} releases the port and all threads.
 *
 * <pre>{@code
 * try (TftpServer server = TftpServer.builder(root).port(0).writable(true).build().start()) {
 *   int port = server.port();
 * }
 * }</pre>
 */
public final class TftpServer implements AutoCloseable {
  // CONTRACT: the manager codes against this public surface; the tftp module implements it.

  public static Builder builder(Path root) {
    return new Builder(root);
  }

  /** Binds the socket and starts serving; returns this. Fails if the port is taken. */
  public TftpServer start() throws IOException {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public InetSocketAddress localAddress() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public int port() {
    return localAddress().getPort();
  }

  /** Stops serving, aborts transfers in flight (no partial uploads stay visible), frees the port. */
  @Override
  public void close() {
    throw new UnsupportedOperationException("not implemented yet");
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
    private TransferListener listener = event -> { };

    private Builder(Path root) {
      this.root = root;
    }

    public Builder bindAddress(InetAddress address) { this.bindAddress = address; return this; }
    /** 0 picks a free port. */
    public Builder port(int port) { this.port = port; return this; }
    public Builder writable(boolean writable) { this.writable = writable; return this; }
    public Builder quotaBytes(long bytes) { this.quotaBytes = bytes; return this; }
    public Builder maxFileSizeBytes(long bytes) { this.maxFileSizeBytes = bytes; return this; }
    public Builder allowOverwrite(boolean allow) { this.allowOverwrite = allow; return this; }
    public Builder maxBlockSize(int size) { this.maxBlockSize = size; return this; }
    public Builder maxWindowSize(int size) { this.maxWindowSize = size; return this; }
    public Builder maxTransfers(int count) { this.maxTransfers = count; return this; }
    public Builder listener(TransferListener listener) { this.listener = listener; return this; }

    public TftpServer build() {
      throw new UnsupportedOperationException("not implemented yet");
    }
  }
}
