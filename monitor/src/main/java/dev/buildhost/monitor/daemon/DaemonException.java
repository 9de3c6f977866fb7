package dev.buildhost.monitor.daemon;

/** The daemon's API did not answer as agreed. */
public class DaemonException extends Exception {
  public DaemonException(String message, Throwable cause) {
    super(message, cause);
  }
}
