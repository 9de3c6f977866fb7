package dev.buildhost.manager.api;

import dev.buildhost.client.wire.ApiError;
import dev.buildhost.manager.model.ManagerException;

/** A request the API refuses with an HTTP status, a message and a hint; nothing was changed. */
public final class ApiException extends RuntimeException {

  private final int status;
  private final String hint;

  public ApiException(int status, String message, String hint) {
    super(message);
    this.status = status;
    this.hint = hint;
  }

  public int status() {
    return status;
  }

  public ApiError toError() {
    return new ApiError(getMessage(), hint);
  }

  /** The status and hint of a refusal by the manager. */
  public static ApiException of(ManagerException e) {
    return switch (e.kind()) {
      case NOT_FOUND ->
          new ApiException(
              404,
              e.getMessage(),
              "check the name: GET /v1/machines lists the machines (buildhost list), "
                  + "GET /v1/instances the instances (buildhost instances)");
      case BAD_REQUEST ->
          new ApiException(400, e.getMessage(), "fix the request and send it again");
      case CONFLICT ->
          new ApiException(
              409,
              e.getMessage(),
              "check the instance's state (GET /v1/instances/{id}); stop it before deleting it");
      case NO_CAPACITY ->
          new ApiException(
              503,
              e.getMessage(),
              "wait for running instances to end (or for the drain to end) and try again");
      case BACKEND_FAILED ->
          new ApiException(
              503,
              e.getMessage(),
              "check that libvirtd and dockerd run (scripts/host-setup starts them) and see the daemon's log");
    };
  }
}
