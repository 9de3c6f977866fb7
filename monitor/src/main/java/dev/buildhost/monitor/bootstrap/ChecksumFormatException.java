package dev.buildhost.monitor.bootstrap;

/** A checksum file that cannot be used; the message names the line. */
public final class ChecksumFormatException extends Exception {
  public ChecksumFormatException(String message) {
    super(message);
  }
}
