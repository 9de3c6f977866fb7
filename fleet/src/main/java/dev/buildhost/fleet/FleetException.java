package dev.buildhost.fleet;

/** The fleet's etcd cluster did not answer, or refused; the message names the endpoints. */
public final class FleetException extends RuntimeException {
  public FleetException(String message, Throwable cause) {
    super(message, cause);
  }

  public FleetException(String message) {
    super(message);
  }
}
