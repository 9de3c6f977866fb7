package dev.buildhost.manager.backend;

/** A backend (libvirt, Docker) refused or failed; the message says what and where. */
public class BackendException extends Exception {
  public BackendException(String message) {
    super(message);
  }

  public BackendException(String message, Throwable cause) {
    super(message, cause);
  }
}
