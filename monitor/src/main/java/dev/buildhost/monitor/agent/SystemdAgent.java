package dev.buildhost.monitor.agent;

import dev.buildhost.monitor.process.CommandException;
import dev.buildhost.monitor.process.CommandRunner;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@code systemctl start UNIT}: systemd supervises the agent from then on. */
public final class SystemdAgent implements Agent {
  private final String systemctl;
  private final String unit;
  private final Map<String, String> env;

  public SystemdAgent(String systemctl, String unit, Map<String, String> env) {
    this.systemctl = systemctl;
    this.unit = unit;
    this.env = Map.copyOf(env);
  }

  @Override
  public void start() throws AgentException {
    try {
      CommandRunner.run(
          "agent", List.of(systemctl, "start", unit), null, env, Duration.ofMinutes(5));
    } catch (CommandException e) {
      throw new AgentException(
          "cannot start the agent unit "
              + unit
              + ": "
              + e.getMessage()
              + "; see 'systemctl status "
              + unit
              + "'",
          e);
    }
  }

  @Override
  public void close() {
    // systemd keeps the unit running; a reboot stops it.
  }
}
