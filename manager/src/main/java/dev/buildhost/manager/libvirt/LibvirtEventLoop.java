package dev.buildhost.manager.libvirt;

import dev.buildhost.common.threads.Threads;
import org.libvirt.Connect;
import org.libvirt.ErrorCallback;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's default event loop, registered once per process before the first connection and run by
 * one daemon thread: domain lifecycle events arrive through it instead of by polling. Also silences
 * libvirt's default error printer (it writes every error to stderr, including the expected "domain
 * not found" of a clean-up): errors still reach us as exceptions, which we log with their context.
 */
final class LibvirtEventLoop {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtEventLoop.class);

  /** Held for the life of the process: libvirt keeps calling it through JNA. */
  private static final ErrorCallback QUIET = new ErrorCallback();

  private static boolean started;

  private LibvirtEventLoop() {}

  static synchronized void ensureStarted() throws LibvirtException {
    if (started) {
      return;
    }
    Connect.setErrorCallback(QUIET);
    Library.initEventLoop();
    Threads.daemon("libvirt-events", LibvirtEventLoop::run).start();
    started = true;
  }

  private static void run() {
    try {
      Library.runEventLoop();
    } catch (LibvirtException e) {
      LOG.error(
          "the libvirt event loop stopped: {}; VM lifecycle events are no longer received",
          e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
