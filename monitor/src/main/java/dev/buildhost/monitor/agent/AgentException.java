package dev.buildhost.monitor.agent;

/** The agent could not be started. */
public final class AgentException extends Exception {
  public AgentException(String message, Throwable cause) {
    super(message, cause);
  }
}
