package dev.buildhost.manager.tftp;

import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferListener;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the writable TFTP server of an instance on 127.0.0.1, on a port of the pool; ports that
 * another program already uses are skipped. Each server enforces the daemon's upload limits, or
 * those of the instance's machine when its manifest sets them.
 */
public final class InstanceTftpServers {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceTftpServers.class);

  private final TftpPortPool pool;
  private final UploadLimits defaultLimits;

  public InstanceTftpServers(TftpPortPool pool) {
    this(pool, UploadLimits.DEFAULTS);
  }

  public InstanceTftpServers(TftpPortPool pool, UploadLimits defaultLimits) {
    this.pool = pool;
    this.defaultLimits = defaultLimits;
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
        return open(folder, port, limits, listener);
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

  /** A server on a given port, already held in the pool or held now (an adopted instance). */
  public TftpServer startOn(Path folder, int port, Manifest machine, TransferListener listener)
      throws IOException {
    return startOn(folder, port, defaultLimits.overriddenBy(machine), listener);
  }

  /**
   * A server on a given port with the daemon's default upload limits: for an instance whose machine
   * cannot be known (its journal record is unreadable).
   */
  public TftpServer startOn(Path folder, int port, TransferListener listener) throws IOException {
    return startOn(folder, port, defaultLimits, listener);
  }

  private TftpServer startOn(Path folder, int port, UploadLimits limits, TransferListener listener)
      throws IOException {
    boolean heldHere = pool.hold(port);
    if (!heldHere && !pool.isHeld(port)) {
      throw new IOException("TFTP port " + port + " lies outside the range " + pool.range());
    }
    try {
      return open(folder, port, limits, listener);
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

  private static TftpServer open(
      Path folder, int port, UploadLimits limits, TransferListener listener) throws IOException {
    return TftpServer.builder(folder)
        .bindAddress(InetAddress.getLoopbackAddress())
        .port(port)
        .writable(true)
        .quotaBytes(limits.quotaBytes())
        .maxFileSizeBytes(limits.maxFileBytes())
        .listener(listener)
        .build()
        .start();
  }
}
