package dev.buildhost.manager.daemon;

import dev.buildhost.common.config.ConfigFormat;
import dev.buildhost.fleet.FleetSettings;

/**
 * The daemon's settings: each is a key of the config file ({@code key = value}, words joined by
 * underscores as in every buildhost config file) and a flag ({@code --key-with-dashes VALUE}) of
 * {@code buildhost daemon}; a flag overrides the file.
 */
public enum Setting {
  ROOT("root", "DIR", "storage root: machines/, tftp/, instances/ (default /build)"),
  STATE_DIR(
      "state_dir",
      "DIR",
      "state folder: journal, API token, api.json "
          + "(default /state/buildhost for the root /build, else <root>/state)"),
  LISTEN(
      "listen",
      "ADDR:PORT",
      "address of the HTTP API (default 127.0.0.1:7346; port 0 picks a free one)"),
  TFTP_LISTEN(
      "tftp_listen",
      "ADDR:PORT",
      "address of the read-only TFTP server of <root>/tftp " + "(default 127.0.0.1:69), or 'off'"),
  TFTP_PORTS(
      "tftp_ports",
      "FIRST-LAST",
      "ports of the per-instance writable TFTP servers (default 10000-10999)"),
  TFTP_UPLOAD_QUOTA(
      "tftp_upload_quota",
      "SIZE",
      "bytes a guest may upload in all into its instance folder, e.g. 1G (a plain number is bytes;"
          + " default 1G; a machine's manifest may set its own tftp-upload-quota)"),
  TFTP_MAX_FILE(
      "tftp_max_file",
      "SIZE",
      "largest file a guest may upload, e.g. 512M (a plain number is bytes; default 512M; a"
          + " machine's manifest may set its own tftp-max-file)"),
  MAX_INSTANCES("max_instances", "N", "instances that may run at once (default 8)"),
  RAM_BUDGET(
      "ram_budget",
      "SIZE",
      "RAM all running instances may claim together, e.g. 16G or 4096M "
          + "(a plain number is MiB; default 16G)"),
  DEFAULT_TIMEOUT(
      "default_timeout",
      "DURATION",
      "time limit of an instance whose start names none, " + "e.g. 2h, 30m, 90s (default 2h)"),
  POWEROFF_GRACE(
      "poweroff_grace",
      "DURATION",
      "how long poweroff waits for a guest before killing it " + "(default 30s)"),
  ACCEL(
      "accel",
      "auto|kvm|tcg",
      "VM acceleration: auto probes whether KVM works and falls back to TCG " + "(default auto)"),
  LIBVIRT_URI("libvirt_uri", "URI", "libvirt connection (default qemu:///system)"),
  DOCKER_HOST("docker_host", "URI", "Docker engine (default unix:///var/run/docker.sock)"),
  DOCKER_NETWORK(
      "docker_network",
      "MODE",
      "network mode of containers (default host: they reach the " + "TFTP ports on 127.0.0.1)"),
  CONTAINER_CAPABILITIES(
      "container_capabilities",
      "CAP,...|none",
      "the Linux capabilities a container keeps, any of Docker's default set (default CHOWN,"
          + " DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID; a machine's manifest may set its"
          + " own capabilities)"),
  CONTAINER_PIDS_LIMIT(
      "container_pids_limit",
      "N",
      "processes and threads a container may have at once (default 1024; a machine's manifest"
          + " may set its own pids-limit)"),
  TOOLCHAINS(
      "toolchains",
      "NAME=ID,...|none",
      "ids of the host's toolchains, for hosts without the monitor or to override the id it"
          + " published (default: the SHA-256 of each checksum file under <root>/tftp/toolchain/)"),
  NETWORK_MODE(
      "network_mode",
      "auto|bridge|user",
      "guest network: bridge (each guest on its own port of a bridge of ours, isolated by "
          + "nftables; needs root, ip, bridge, nft and dnsmasq), user (QEMU user networking and "
          + "host-networked containers: guests share the host's loopback) or auto "
          + "(default: bridge when it can be made, else user)"),
  NETWORK_BRIDGE(
      "network_bridge", "NAME", "the Linux bridge of the guest network (default buildhost0)"),
  NETWORK_ADDRESS(
      "network_address",
      "ADDR/PREFIX",
      "the host's address on the bridge and the guest subnet; guests find TFTP at ADDR:69 "
          + "(default 196.254.111.222/24)"),
  NETWORK_GUEST_RANGE(
      "network_guest_range",
      "FIRST-LAST",
      "addresses handed to guests by DHCP (default 196.254.111.10-196.254.111.200)"),
  NETWORK_TABLE(
      "network_table",
      "NAME",
      "name of buildhost's own nftables tables, one bridge and one inet (default buildhost)"),
  NETWORK_PORT_PREFIX(
      "network_port_prefix",
      "PREFIX",
      "start of the name of every guest tap and veth of ours, 1-4 of a-z 0-9 (default bh)"),
  NETWORK_OUTBOUND_NAT(
      "network_outbound_nat",
      "true|false",
      "whether a guest may open connections to the internet (NATed; never to private ranges, "
          + "the host or other guests) (default false)"),
  STOP_INSTANCES_ON_EXIT(
      "stop_instances_on_exit",
      "true|false",
      "on SIGTERM, power off running instances "
          + "(default false: they go on and the next daemon adopts them)"),
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
  private final String valueLabel;
  private final String description;
  private final FleetSettings.Key fleetKey;

  /** A fleet setting: the same key, value and meaning as in the monitor's config (doc/fleet.md). */
  Setting(FleetSettings.Key fleetKey) {
    this.key = fleetKey.key();
    this.valueLabel = fleetKey.label();
    this.description = fleetKey.description() + " (default " + fleetKey.defaultText() + ")";
    this.fleetKey = fleetKey;
  }

  Setting(String key, String valueLabel, String description) {
    this.key = key;
    this.valueLabel = valueLabel;
    this.description = description;
    this.fleetKey = null;
  }

  /** Whether this is one of the fleet's settings, which are config file keys only (no flag). */
  public boolean isFleet() {
    return fleetKey != null;
  }

  /** The fleet's key this setting is, or null when it is not a fleet setting. */
  FleetSettings.Key fleetKey() {
    return fleetKey;
  }

  /** The config file key, e.g. {@code state_dir}. */
  public String key() {
    return key;
  }

  /** The flag: {@code --} and the key with dashes, e.g. {@code --state-dir}. */
  public String flag() {
    return ConfigFormat.flagOf(key);
  }

  public String valueLabel() {
    return valueLabel;
  }

  public String description() {
    return description;
  }

  /** The setting of a config file key, or null. */
  public static Setting ofKey(String key) {
    for (Setting setting : values()) {
      if (setting.key.equals(key)) {
        return setting;
      }
    }
    return null;
  }
}
