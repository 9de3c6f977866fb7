package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClientException;

/** The CLI's exit codes, the same for every verb and listed in each verb's help. */
public final class ExitCode {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int NOT_FOUND = 3;
  public static final int UNREACHABLE = 4;
  public static final int UNAVAILABLE = 5;
  public static final int CONFLICT = 6;

  /** The help footer that lists them. */
  public static final String HELP = "%nExit codes:%n"
      + "  0  success%n"
      + "  1  the worker or the instance failed, or another error%n"
      + "  2  bad usage, or a request the daemon refused as invalid%n"
      + "  3  no such instance, machine or file%n"
      + "  4  the daemon cannot be reached, or it refused the API token%n"
      + "  5  the daemon cannot do it now: no capacity, draining, or a backend is down%n"
      + "  6  the instance's state forbids it (e.g. deleting a running instance)";

  private ExitCode() {
  }

  /** The exit code for a refusal by the daemon, by HTTP status. */
  public static int of(ApiClientException e) {
    return switch (e.status()) {
      case ApiClientException.UNREACHABLE, 401 -> UNREACHABLE;
      case 400, 405, 413 -> USAGE;
      case 404 -> NOT_FOUND;
      case 409 -> CONFLICT;
      case 503 -> UNAVAILABLE;
      default -> FAILED;
    };
  }
}
