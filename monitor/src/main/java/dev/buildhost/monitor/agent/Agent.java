package dev.buildhost.monitor.agent;

/** The build agent the monitor starts once the toolchain is installed. */
public interface Agent extends AutoCloseable {
  /** Starts the agent; a failure is an exception with a message saying what to do. */
  void start() throws AgentException;

  /** Stops what this monitor supervises (a systemd unit is left to systemd). */
  @Override
  void close();
}
