package dev.buildhost.manager.libvirt;

import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.BackendException;
import java.time.Duration;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.libvirt.event.ConnectionCloseListener;
import org.libvirt.event.ConnectionCloseReason;
import org.libvirt.event.LifecycleListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libvirt backend's one connection to libvirtd, carrying its domain lifecycle listener. It is
 * opened on first use, so the daemon starts while libvirtd is down. Keepalives tell when libvirtd
 * stops answering; when the connection closes under us (libvirtd restarted, or missed its
 * keepalives), it is opened again in the background, trying again with a doubling delay (200 ms up
 * to 5 s) until libvirtd answers. Once open again it has the backend catch up: the lifecycle events
 * of the time between were lost with the old connection. Domains are looked up and destroyed
 * through here too, where a domain that is already gone is no error.
 */
final class LibvirtConnection implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtConnection.class);

  /** A libvirtd that misses this many keepalives in a row, one every interval, counts as gone. */
  private static final int KEEPALIVE_INTERVAL_SECONDS = 5;

  private static final int KEEPALIVE_COUNT = 3;
  static final Duration FIRST_RECONNECT_DELAY = Duration.ofMillis(200);
  static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(5);

  /** What the backend does once the connection is open again after it was lost. */
  @FunctionalInterface
  interface CatchUp {
    /** Throws when libvirtd cannot tell yet: the reconnect is then tried again later. */
    void afterReconnect(LibvirtConnection reconnected) throws BackendException;
  }

  private final String uri;
  private final LifecycleListener lifecycle;
  private final CatchUp catchUp;
  private final Scheduler reconnects;
  private final ConnectionCloseListener closeListener = this::onClosed;
  private Connect connection;
  private boolean closed;

  LibvirtConnection(
      String uri, LifecycleListener lifecycle, CatchUp catchUp, Scheduler reconnects) {
    this.uri = uri;
    this.lifecycle = lifecycle;
    this.catchUp = catchUp;
    this.reconnects = reconnects;
  }

  /** The open connection, opened now if there is none or it broke. */
  synchronized Connect get() throws BackendException {
    if (closed) {
      throw new BackendException("the libvirt backend is closed");
    }
    try {
      if (connection != null && connection.isAlive()) {
        return connection;
      }
    } catch (LibvirtException e) {
      LOG.warn("the connection to libvirtd at {} is broken ({}); reconnecting", uri, message(e));
    }
    drop();
    try {
      LibvirtEventLoop.ensureStarted();
      Connect fresh = new Connect(uri);
      fresh.addLifecycleListener(lifecycle);
      watchForClose(fresh);
      connection = fresh;
      LOG.info("connected to libvirtd at {}", uri);
      return fresh;
    } catch (LibvirtException e) {
      connection = null;
      throw new BackendException(
          "cannot connect to libvirtd at "
              + uri
              + ": "
              + message(e)
              + " (is libvirtd running? start it with 'virtlogd -d && libvirtd -d')",
          e);
    }
  }

  String uri() {
    return uri;
  }

  /** The domain of that name, or null when libvirtd has none. */
  Domain lookup(String name) throws BackendException, LibvirtException {
    try {
      return get().domainLookupByName(name);
    } catch (LibvirtException e) {
      if (e.getError() != null && e.getError().getCode() == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return null;
      }
      throw e;
    }
  }

  /** Destroys the domain if it exists; a domain already gone is fine. */
  void destroy(String name) throws BackendException {
    try {
      Domain domain = lookup(name);
      if (domain != null) {
        try {
          domain.destroy();
        } catch (LibvirtException e) {
          if (e.getError() == null
              || (e.getError().getCode() != Error.ErrorNumber.VIR_ERR_NO_DOMAIN
                  && e.getError().getCode() != Error.ErrorNumber.VIR_ERR_OPERATION_INVALID)) {
            throw e;
          }
        } finally {
          free(domain);
        }
      }
    } catch (LibvirtException e) {
      throw new BackendException("cannot destroy domain " + name + ": " + message(e), e);
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    reconnects.close();
    drop();
  }

  /**
   * libvirt calls this on its event loop thread, which must not call libvirt: the reconnect is
   * handed on. A close we asked for ({@link ConnectionCloseReason#CLIENT}) needs none.
   */
  void onClosed(Connect closedConnection, ConnectionCloseReason reason) {
    if (reason == ConnectionCloseReason.CLIENT) {
      return;
    }
    LOG.warn(
        "the connection to libvirtd at {} closed ({}); reconnecting to catch up with its domains",
        uri,
        reason);
    reconnects.schedule(Duration.ZERO, () -> reconnect(closedConnection, FIRST_RECONNECT_DELAY));
  }

  // ReferenceEquality: the connection that closed is that very object, not an equal one.
  @SuppressWarnings("ReferenceEquality")
  private void reconnect(Connect closedConnection, Duration retryDelay) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (connection == closedConnection) {
        drop();
      }
    }
    try {
      get();
      catchUp.afterReconnect(this);
    } catch (BackendException e) {
      Duration doubled = retryDelay.multipliedBy(2);
      Duration next = doubled.compareTo(MAX_RECONNECT_DELAY) > 0 ? MAX_RECONNECT_DELAY : doubled;
      LOG.debug(
          "reconnecting to libvirtd failed ({}); trying again in {} ms",
          e.getMessage(),
          retryDelay.toMillis());
      reconnects.schedule(retryDelay, () -> reconnect(closedConnection, next));
    }
  }

  /** Drivers that run in the daemon's own process (test:///default) have no connection to lose. */
  private void watchForClose(Connect fresh) {
    try {
      fresh.registerCloseListener(closeListener);
      fresh.setKeepAlive(KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_COUNT);
    } catch (LibvirtException e) {
      LOG.debug("the libvirt connection cannot report being closed: {}", message(e));
    }
  }

  /** Closes the connection, if there is one; caller holds this object's lock. */
  private void drop() {
    if (connection == null) {
      return;
    }
    try {
      connection.unregisterCloseListener();
      connection.removeLifecycleListener(lifecycle);
    } catch (LibvirtException | RuntimeException e) {
      LOG.debug("removing the libvirt listeners failed: {}", e.getMessage());
    }
    try {
      connection.close();
    } catch (LibvirtException e) {
      LOG.debug("closing the libvirt connection failed: {}", e.getMessage());
    }
    connection = null;
  }

  /** Frees a domain handle now rather than at garbage collection (null is fine). */
  static void free(Domain domain) {
    if (domain != null) {
      try {
        domain.free();
      } catch (LibvirtException e) {
        LOG.debug("freeing a domain handle failed: {}", e.getMessage());
      }
    }
  }

  /** libvirt's own message for a libvirt error (the exception's is often generic). */
  static String message(Exception e) {
    if (e instanceof LibvirtException le
        && le.getError() != null
        && le.getError().getMessage() != null) {
      return le.getError().getMessage();
    }
    return e.getMessage();
  }
}
