package dev.buildhost.monitor.trust;

/**
 * The checksum file is not signed by the trusted key: missing, malformed, wrong or bad signature,
 * or unusable key.
 */
public final class TrustException extends Exception {
  public TrustException(String message, Throwable cause) {
    super(message, cause);
  }
}
