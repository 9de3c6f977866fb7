package dev.buildhost.monitor.http;

/**
 * A fetch that did not give the whole body: network error, timeout, HTTP status other than 200,
 * size cap.
 */
public final class FetchException extends Exception {
  private final int status;
  private final boolean retriable;

  public FetchException(String message, int status, Throwable cause) {
    this(message, status, cause, true);
  }

  /**
   * @param retriable false when another try would fail the same way (the body is over its size cap)
   */
  public FetchException(String message, int status, Throwable cause, boolean retriable) {
    super(message, cause);
    this.status = status;
    this.retriable = retriable;
  }

  public boolean retriable() {
    return retriable;
  }

  /** The HTTP status, or -1 when no response came. */
  public int status() {
    return status;
  }
}
