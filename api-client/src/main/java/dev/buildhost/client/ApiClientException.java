package dev.buildhost.client;

/**
 * The daemon refused a request, or could not be reached.
 *
 * @see #status()
 */
public final class ApiClientException extends RuntimeException {

  /** {@link #status()} when there was no answer at all. */
  public static final int UNREACHABLE = 0;

  private final int status;
  private final String hint;

  public ApiClientException(int status, String message, String hint) {
    this(status, message, hint, null);
  }

  /**
   * @param cause what failed underneath, e.g. the {@link java.net.ConnectException} of a refused
   *     connection, which tells a daemon that is not running from one that stopped answering
   */
  public ApiClientException(int status, String message, String hint, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.hint = hint;
  }

  /** The HTTP status of the answer, or {@link #UNREACHABLE}. */
  public int status() {
    return status;
  }

  /** What to do about it; may be null. */
  public String hint() {
    return hint;
  }
}
