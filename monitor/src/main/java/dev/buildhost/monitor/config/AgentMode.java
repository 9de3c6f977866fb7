package dev.buildhost.monitor.config;

/** How the agent is started once the toolchain is installed. */
public enum AgentMode {
  /** {@code systemctl start <agent_unit>}. */
  SYSTEMD,
  /** {@code sh -c <agent_command>} as a child, restarted with exponential backoff when it exits. */
  PROCESS,
  /** No agent is started. */
  NONE,
  /** SYSTEMD if a unit is configured, else PROCESS if a command is, else NONE. */
  AUTO
}
