package dev.buildhost.monitor.process;

/** A command that could not start, exited non-zero or ran past its timeout. */
public final class CommandException extends Exception {
  public CommandException(String message, Throwable cause) {
    super(message, cause);
  }
}
