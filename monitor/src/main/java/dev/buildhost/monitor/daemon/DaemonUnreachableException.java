package dev.buildhost.monitor.daemon;

/** Nothing listens at the daemon's address (connection refused): the daemon is not running. */
public final class DaemonUnreachableException extends DaemonException {
  public DaemonUnreachableException(String message, Throwable cause) {
    super(message, cause);
  }
}
