package dev.buildhost.monitor.bootstrap;

/**
 * The toolchain could not be fetched, verified, published or installed; the message says which step
 * and file.
 */
public final class BootstrapException extends Exception {
  public BootstrapException(String message, Throwable cause) {
    super(message, cause);
  }

  public BootstrapException(String message) {
    super(message);
  }
}
