package dev.buildhost.common.config;

/**
 * A config file that cannot be read; the message names the file, and the line when there is one.
 */
public final class ConfigFileException extends RuntimeException {
  public ConfigFileException(String message) {
    super(message);
  }
}
