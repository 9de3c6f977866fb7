package dev.buildhost.monitor.config;

import dev.buildhost.fleet.FleetSettings;
import java.util.Optional;

/**
 * Every setting of the monitor, under one name in three places: {@code key = value} in the config
 * file, {@code buildos.key=value} on the kernel command line and {@code --key} as a flag
 * (underscores become dashes). Precedence: flag, then kernel command line, then file, then default.
 * doc/monitor.md lists the same table.
 */
public enum Setting {
  ROOT(
      "root",
      "DIR",
      "/build",
      "Build root: each toolchain is published under <root>/tftp/toolchain/<name>/."),
  STATE_DIR(
      "state_dir",
      "DIR",
      "/state/buildhost, or <root>/state when the root is not /build",
      "Persistent state folder; the monitor keeps its own under <state_dir>/monitor/."),
  BUILDID_URL(
      "buildid_url",
      "URL",
      "none (no OS watch)",
      "URL of the OS build-id file (Build OS: buildos-buildid); a change of its content reboots the host."),
  TOOLCHAIN_URL(
      "toolchain_url",
      "URL",
      "none (no toolchain bootstrap or watch)",
      "URL of the toolchain checksum file (sha256sum format); the files it lists are fetched relative to it."
          + " toolchain_url.<name> (buildos.toolchain_url.<name>=URL on the kernel command line) names the toolchain;"
          + " several names serve several toolchains, each bootstrapped, watched and given its own agent."),
  TOOLCHAIN_NAME(
      "toolchain_name",
      "NAME",
      "the checksum file name without .sha256 (toolchain.sha256 -> toolchain)",
      "Name of the toolchain of toolchain_url (without .<name>): its folder <root>/tftp/toolchain/<name>/."),
  TOOLCHAIN_TRUST(
      "toolchain_trust",
      "KEY",
      "none (the checksum file is not verified)",
      "OpenPGP key that must have signed the checksum file: an absolute path to a public key file, or the"
          + " fingerprint of a key fetched from <toolchain_url>.key. The detached signature is fetched from"
          + " <toolchain_url>.sig; an unsigned or badly signed toolchain is refused. Also handed to the commands as"
          + " BUILDHOST_TOOLCHAIN_TRUST. toolchain_trust.<name> is for toolchain <name>; without a name it is for"
          + " every toolchain without one of its own."),
  MAX_CHECKSUM_FILE_SIZE(
      "max_checksum_file_size",
      "SIZE",
      "1m",
      "Largest toolchain checksum file fetched (bytes, or with k, m, g)."),
  MAX_TOOLCHAIN_FILE_SIZE(
      "max_toolchain_file_size",
      "SIZE",
      "4g",
      "Largest toolchain file downloaded (bytes, or with k, m, g); a bigger one fails the bootstrap."),
  INSTALL_COMMAND(
      "install_command",
      "CMD",
      "none",
      "Shell command (sh -c) that installs the toolchain, run in the published toolchain folder."),
  AGENT_BUILD_COMMAND(
      "agent_build_command",
      "CMD",
      "none",
      "Shell command (sh -c) that builds the agent, run after the install command."),
  COMMAND_TIMEOUT(
      "command_timeout", "DURATION", "2h", "Longest run of the install or agent-build command."),
  AGENT_MODE(
      "agent_mode",
      "MODE",
      "auto",
      "How the agent is started: systemd (systemctl start <agent_unit>), process (supervised <agent_command>),"
          + " none, or auto (systemd if agent_unit is set, else process if agent_command is set, else none)."),
  AGENT_UNIT(
      "agent_unit",
      "UNIT",
      "none",
      "systemd unit of the agent, one per toolchain: a template such as bbot-agent@.service is started as"
          + " bbot-agent@<name>.service, and {toolchain} in the name is replaced by the toolchain's name."
          + " With several toolchains it must be one of the two."),
  SYSTEMCTL("systemctl", "PROGRAM", "systemctl", "The systemctl program used to start agent_unit."),
  AGENT_COMMAND(
      "agent_command",
      "CMD",
      "none",
      "Shell command (sh -c) of the agent run as a supervised child, restarted with exponential backoff; one"
          + " per toolchain, {toolchain} replaced by the toolchain's name."),
  AGENT_BACKOFF_MIN(
      "agent_backoff_min", "DURATION", "1s", "First delay before restarting an exited agent."),
  AGENT_BACKOFF_MAX(
      "agent_backoff_max",
      "DURATION",
      "5m",
      "Bound of the doubling restart delay; an agent that ran at least this long restarts after agent_backoff_min."),
  INTERVAL(
      "interval",
      "DURATION",
      "5m",
      "Time between two checks of the build-id and the checksum file."),
  CONNECT_TIMEOUT("connect_timeout", "DURATION", "60s", "HTTP connect timeout."),
  FETCH_TIMEOUT(
      "fetch_timeout",
      "DURATION",
      "600s",
      "Longest time one HTTP fetch or download may take in total."),
  FETCH_RETRIES(
      "fetch_retries",
      "N",
      "4",
      "Extra tries of a failed bootstrap fetch before the bootstrap fails."),
  RETRY_DELAY("retry_delay", "DURATION", "5s", "Pause between two tries of a bootstrap fetch."),
  DAEMON_URL(
      "daemon_url",
      "URL",
      "the url in <state_dir>/api.json",
      "Base URL of the buildhost daemon's API."),
  TOKEN_FILE(
      "token_file", "FILE", "<state_dir>/api-token", "File holding the daemon's bearer token."),
  DRAIN_TIMEOUT(
      "drain_timeout",
      "DURATION",
      "2h",
      "Longest wait for running instances to end before rebooting anyway."),
  REBOOT_WHEN_DAEMON_DOWN(
      "reboot_when_daemon_down",
      "BOOL",
      "false",
      "Whether to reboot when the daemon cannot be reached although its instances may still run (their"
          + " builds are lost); when false such a reboot waits for the daemon."),
  DRAIN_POLL(
      "drain_poll",
      "DURATION",
      "5s",
      "Time between two looks at the daemon's instances while draining."),
  REBOOT_COMMAND(
      "reboot_command",
      "CMD",
      "systemctl reboot",
      "Shell command (sh -c) run once per decided reboot; it sees BUILDHOST_REBOOT_REASON."),
  MAX_REBOOTS_PER_HOUR(
      "max_reboots_per_hour",
      "N",
      "3",
      "Reboots allowed within any hour (history kept in the state folder); 0 never reboots."),
  SMTP_RELAY(
      "smtp_relay",
      "HOST[:PORT]",
      "none (no email)",
      "SMTP relay for notification email (port 25 by default)."),
  ADMIN_EMAIL(
      "admin_email", "ADDRESS[,ADDRESS]", "none (no email)", "Recipients of notification email."),
  MAIL_FROM(
      "mail_from",
      "ADDRESS",
      "buildhost-monitor@<host name>",
      "Sender address of notification email."),
  SMTP_TIMEOUT(
      "smtp_timeout", "DURATION", "30s", "Connect and read timeout of the SMTP conversation."),
  TFTP_TMPFS_SIZE(
      "tftp_tmpfs_size",
      "SIZE",
      "none (no mount)",
      "When set and running as root, mount <root>/tftp as a tmpfs of this size (e.g. 512m, 2g) unless it is"
          + " already a mount point."),
  FLEET_ENDPOINTS(FleetSettings.Key.ENDPOINTS),
  FLEET_NAME(FleetSettings.Key.NAME),
  FLEET_HOST(FleetSettings.Key.HOST),
  FLEET_CA(FleetSettings.Key.CA),
  FLEET_CERT(FleetSettings.Key.CERT),
  FLEET_KEY(FleetSettings.Key.KEY),
  FLEET_USER(FleetSettings.Key.USER),
  FLEET_PASSWORD_FILE(FleetSettings.Key.PASSWORD_FILE),
  FLEET_REBOOT_SLOTS(FleetSettings.Key.REBOOT_SLOTS),
  FLEET_SLOT_TIMEOUT(FleetSettings.Key.SLOT_TIMEOUT),
  FLEET_LEASE_TTL(FleetSettings.Key.LEASE_TTL),
  FLEET_REQUEST_TIMEOUT(FleetSettings.Key.REQUEST_TIMEOUT);

  private final String key;
  private final String label;
  private final String defaultText;
  private final String description;
  private final FleetSettings.Key fleetKey;

  Setting(String key, String label, String defaultText, String description) {
    this.key = key;
    this.label = label;
    this.defaultText = defaultText;
    this.description = description;
    this.fleetKey = null;
  }

  /** A setting of the fleet, read as the daemon reads it (doc/fleet.md). */
  Setting(FleetSettings.Key fleetKey) {
    this.key = fleetKey.key();
    this.label = fleetKey.label();
    this.defaultText = fleetKey.defaultText();
    String d = fleetKey.description();
    this.description = Character.toUpperCase(d.charAt(0)) + d.substring(1) + ".";
    this.fleetKey = fleetKey;
  }

  /** The fleet's key this setting is, or null for the monitor's own settings. */
  public FleetSettings.Key fleetKey() {
    return fleetKey;
  }

  /** The name in the config file; {@code buildos.<key>} on the kernel command line. */
  public String key() {
    return key;
  }

  /** {@code --key-with-dashes}. */
  public String flag() {
    return "--" + key.replace('_', '-');
  }

  public String label() {
    return label;
  }

  public String defaultText() {
    return defaultText;
  }

  public String description() {
    return description;
  }

  public static Optional<Setting> byKey(String key) {
    for (Setting s : values()) {
      if (s.key.equals(key)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
