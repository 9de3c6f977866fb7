package dev.buildhost.monitor.http;

/** A fetch that did not give the whole body: network error, timeout, HTTP status other than 200, size cap. */
public final class FetchException extends Exception {
  private final int status;

  public FetchException(String message, int status, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /** The HTTP status, or -1 when no response came. */
  public int status() {
    return status;
  }
}
