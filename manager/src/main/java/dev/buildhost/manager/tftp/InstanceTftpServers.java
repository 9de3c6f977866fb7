package dev.buildhost.manager.tftp;

import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.tftp.server.RequestLoop;
import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferListener;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the writable TFTP server of an instance on a port of the pool, on 127.0.0.1 (network mode
 * user) or on the guest bridge's host address (mode bridge, where the firewall sends each guest's
 * {@code :69} to its own server); ports that another program already uses are skipped. Reads of a
 * file the instance's folder lacks fall back to the shared read-only tree (the toolchain), minus
 * every instance's folder in it: a guest reads the shared tree through its own server, and writes
 * only into its folder. Each server enforces the daemon's upload limits, or those of the instance's
 * machine when its manifest sets them.
 *
 * <p>All the servers receive their requests on one thread ({@link RequestLoop}, started with the
 * first server and ended by {@link #close}): a running instance costs no thread of its own while no
 * transfer runs (doc/operations.md, the cost of an instance).
 */
public final class InstanceTftpServers implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceTftpServers.class);

  /** Folder names the manager gives instances ({@code <machine>-<yyyyMMdd-HHmmss>-<4 hex>}). */
  private static final Pattern INSTANCE_FOLDER =
      Pattern.compile("[A-Za-z0-9_.-]+-\\d{8}-\\d{6}-[0-9a-f]{4}");

  private final TftpPortPool pool;
  private final UploadLimits defaultLimits;

  private final InetAddress bindAddress;
  private final Path sharedTree;
  private RequestLoop requestLoop;
  private boolean closed;

  /** Servers on 127.0.0.1 without the shared tree (tests of the pool). */
  public InstanceTftpServers(TftpPortPool pool) {
    this(pool, UploadLimits.DEFAULTS, InetAddress.getLoopbackAddress(), null);
  }

  /**
   * @param defaultLimits the upload limits of an instance whose machine sets none
   * @param bindAddress where the servers listen
   * @param sharedTree the read-only tree reads fall back to, or null for none; the instances'
   *     folders inside it are never served through the fallback
   */
  public InstanceTftpServers(
      TftpPortPool pool, UploadLimits defaultLimits, InetAddress bindAddress, Path sharedTree) {
    this.pool = pool;
    this.defaultLimits = defaultLimits;
    this.bindAddress = bindAddress;
    this.sharedTree = sharedTree;
  }

  public InetAddress bindAddress() {
    return bindAddress;
  }

  /**
   * Whether {@code name}, a top-level entry of the shared tree, is (or may become) an instance's
   * folder: never read through another instance's server.
   */
  public static boolean isInstanceFolder(String name) {
    return INSTANCE_FOLDER.matcher(name).matches();
  }

  public TftpPortPool pool() {
    return pool;
  }

  /** A server on the next free port of the range; the caller {@link #stop}s it. */
  public TftpServer start(Path folder, Manifest machine, TransferListener listener)
      throws IOException {
    UploadLimits limits = defaultLimits.overriddenBy(machine);
    Set<Integer> busyElsewhere = new HashSet<>();
    for (int attempt = 0; attempt < pool.size(); attempt++) {
      int port = pool.hold();
      if (port < 0) {
        break;
      }
      try {
        return open(folder, port, limits, listener, false);
      } catch (IOException e) {
        pool.release(port);
        if (!inUse(e)) {
          throw e;
        }
        LOG.debug(
            "TFTP port {} is in use by another program ({}); trying the next",
            port,
            e.getMessage());
        if (!busyElsewhere.add(port)) {
          break;
        }
      }
    }
    throw new NoFreePortException(
        "no free TFTP port in the range "
            + pool.range()
            + ": "
            + pool.heldCount()
            + " held by instances, "
            + busyElsewhere.size()
            + " in use by other programs; widen the range (tftp-ports) or wait for instances to end");
  }

  /**
   * A new instance's server on a given port, already held in the pool or held now (a prepared
   * launch's). The files in the folder, which the host put there, do not count against the quota:
   * only what the guest uploads does.
   */
  public TftpServer startOn(Path folder, int port, Manifest machine, TransferListener listener)
      throws IOException {
    return startOn(folder, port, defaultLimits.overriddenBy(machine), listener, false);
  }

  /**
   * An adopted instance's server (a restarted daemon's) on its port. Its folder holds the host's
   * files and what the guest uploaded before, which cannot be told apart: all of it counts against
   * the quota.
   */
  public TftpServer adopt(Path folder, int port, Manifest machine, TransferListener listener)
      throws IOException {
    return startOn(folder, port, defaultLimits.overriddenBy(machine), listener, true);
  }

  /**
   * An adopted instance's server with the daemon's default upload limits: for an instance whose
   * machine cannot be known (its journal record is unreadable). Every file in its folder counts
   * against the quota, as in {@link #adopt(Path, int, Manifest, TransferListener)}.
   */
  public TftpServer adopt(Path folder, int port, TransferListener listener) throws IOException {
    return startOn(folder, port, defaultLimits, listener, true);
  }

  private TftpServer startOn(
      Path folder, int port, UploadLimits limits, TransferListener listener, boolean countExisting)
      throws IOException {
    boolean heldHere = pool.hold(port);
    if (!heldHere && !pool.isHeld(port)) {
      throw new IOException("TFTP port " + port + " lies outside the range " + pool.range());
    }
    try {
      return open(folder, port, limits, listener, countExisting);
    } catch (IOException e) {
      if (heldHere) {
        pool.release(port);
      }
      throw e;
    }
  }

  /** Stops the server and gives its port back to the pool. */
  public void stop(TftpServer server, int port) {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      pool.release(port);
    }
  }

  /** Whether starting failed because the port is taken (as opposed to, say, a missing folder). */
  private static boolean inUse(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof BindException) {
        return true;
      }
    }
    return false;
  }

  /** Ends the servers' request thread; the servers are stopped first ({@link #stop}). */
  @Override
  public synchronized void close() {
    closed = true;
    if (requestLoop != null) {
      requestLoop.close();
      requestLoop = null;
    }
  }

  private synchronized RequestLoop requestLoop() throws IOException {
    if (closed) {
      throw new IOException("the instances' TFTP servers are closed");
    }
    if (requestLoop == null) {
      requestLoop = RequestLoop.start("tftp-instances-requests");
    }
    return requestLoop;
  }

  private TftpServer open(
      Path folder, int port, UploadLimits limits, TransferListener listener, boolean countExisting)
      throws IOException {
    TftpServer.Builder builder =
        TftpServer.builder(folder)
            .requestLoop(requestLoop())
            .bindAddress(bindAddress)
            .port(port)
            .writable(true)
            .quotaBytes(limits.quotaBytes())
            .quotaCountsExistingFiles(countExisting)
            .maxFileSizeBytes(limits.maxFileBytes())
            .listener(listener);
    if (sharedTree != null && Files.isDirectory(sharedTree)) {
      Path own = folder.toAbsolutePath().normalize();
      Path tree = sharedTree.toAbsolutePath().normalize();
      builder.readFallback(
          sharedTree,
          name -> isInstanceFolder(name) || tree.resolve(name).equals(own) || name.startsWith("."));
    }
    return builder.build().start();
  }
}
