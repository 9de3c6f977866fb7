package dev.buildhost.manager.daemon;

/** A setting the daemon cannot use; the message names the file and line, or the flag. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
