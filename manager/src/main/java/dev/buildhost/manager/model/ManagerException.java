package dev.buildhost.manager.model;

/** A request the manager refused; {@link #kind()} tells the API which HTTP status to answer. */
public class ManagerException extends RuntimeException {

  public enum Kind {
    NOT_FOUND,
    BAD_REQUEST,
    CONFLICT,
    NO_CAPACITY,
    BACKEND_FAILED
  }

  private final Kind kind;

  public ManagerException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public ManagerException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
