package dev.buildhost.manager.network;

/**
 * Setting up or changing the guest network failed; the message names the object and the tool's
 * answer.
 */
public class NetworkException extends Exception {
  public NetworkException(String message) {
    super(message);
  }

  public NetworkException(String message, Throwable cause) {
    super(message, cause);
  }
}
