package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClientException;
import java.io.UncheckedIOException;
import picocli.CommandLine;

/**
 * The CLI's exit codes, the same for every verb and listed in each verb's help; as picocli's {@link
 * CommandLine.IExitCodeExceptionMapper} it turns what a verb threw into one of them.
 */
public final class ExitCode implements CommandLine.IExitCodeExceptionMapper {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int NOT_FOUND = 3;
  public static final int UNREACHABLE = 4;
  public static final int UNAVAILABLE = 5;
  public static final int CONFLICT = 6;

  /** The help footer that lists them. */
  public static final String HELP =
      "%nExit codes:%n"
          + "  0  success%n"
          + "  1  the worker or the instance failed, or another error%n"
          + "  2  bad usage, or a request the daemon refused as invalid%n"
          + "  3  no such instance, machine or file%n"
          + "  4  the daemon cannot be reached, or it refused the API token%n"
          + "  5  the daemon cannot do it now: no capacity, draining, or a backend is down%n"
          + "  6  the instance's state forbids it (e.g. deleting a running instance)";

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

  /**
   * A refusal by the daemon by its status, a bad command line as usage, anything else as a failure.
   */
  @Override
  public int getExitCode(Throwable exception) {
    if (exception instanceof ApiClientException refused) {
      return of(refused);
    }
    if (exception instanceof CommandLine.ParameterException) {
      return USAGE;
    }
    return FAILED;
  }

  /**
   * picocli's handler of what a verb threw: a refusal by the daemon or a broken transfer becomes
   * one line on stderr (and the daemon's hint), never a stack trace; anything else is a bug and
   * keeps picocli's stack trace.
   */
  static final class Failures implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(
        Exception e, CommandLine command, CommandLine.ParseResult parsed) throws Exception {
      String verb = "buildhost " + command.getCommandName() + ": ";
      if (e instanceof ApiClientException refused) {
        command.getErr().println(verb + refused.getMessage());
        if (refused.hint() != null) {
          command.getErr().println("  hint: " + refused.hint());
        }
      } else if (e instanceof UncheckedIOException broken) {
        command
            .getErr()
            .println(verb + broken.getMessage() + ": " + broken.getCause().getMessage());
      } else {
        throw e;
      }
      command.getErr().flush();
      return command.getExitCodeExceptionMapper().getExitCode(e);
    }
  }
}
