package dev.buildhost.monitor.config;

/** A setting that cannot be used, with a message naming where it came from and what to do. */
public final class ConfigException extends Exception {
  public ConfigException(String message) {
    super(message);
  }
}
