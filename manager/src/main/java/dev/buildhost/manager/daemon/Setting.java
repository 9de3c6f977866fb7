package dev.buildhost.manager.daemon;

/**
 * The daemon's settings: each is a key of the config file ({@code key = value}) and a flag
 * ({@code --key VALUE}) of {@code buildhost daemon}; a flag overrides the file.
 */
public enum Setting {
  ROOT("root", "DIR", "storage root: machines/, tftp/, instances/ (default /build)"),
  STATE_DIR("state-dir", "DIR", "state folder: journal, API token, api.json "
      + "(default /state/buildhost for the root /build, else <root>/state)"),
  LISTEN("listen", "ADDR:PORT", "address of the HTTP API (default 127.0.0.1:7346; port 0 picks a free one)"),
  TFTP_LISTEN("tftp-listen", "ADDR:PORT", "address of the read-only TFTP server of <root>/tftp "
      + "(default 127.0.0.1:69), or 'off'"),
  TFTP_PORTS("tftp-ports", "FIRST-LAST", "ports of the per-instance writable TFTP servers (default 10000-10999)"),
  MAX_INSTANCES("max-instances", "N", "instances that may run at once (default 8)"),
  RAM_BUDGET("ram-budget", "SIZE", "RAM all running instances may claim together, e.g. 16G or 4096M "
      + "(a plain number is MiB; default 16G)"),
  DEFAULT_TIMEOUT("default-timeout", "DURATION", "time limit of an instance whose start names none, "
      + "e.g. 2h, 30m, 90s (default 2h)"),
  POWEROFF_GRACE("poweroff-grace", "DURATION", "how long poweroff waits for a guest before killing it "
      + "(default 30s)"),
  ACCEL("accel", "auto|kvm|tcg", "VM acceleration: auto probes whether KVM works and falls back to TCG "
      + "(default auto)"),
  LIBVIRT_URI("libvirt-uri", "URI", "libvirt connection (default qemu:///system)"),
  DOCKER_HOST("docker-host", "URI", "Docker engine (default unix:///var/run/docker.sock)"),
  DOCKER_NETWORK("docker-network", "MODE", "network mode of containers (default host: they reach the "
      + "TFTP ports on 127.0.0.1)"),
  STOP_INSTANCES_ON_EXIT("stop-instances-on-exit", "true|false", "on SIGTERM, power off running instances "
      + "(default false: they go on and the next daemon adopts them)");

  private final String key;
  private final String valueLabel;
  private final String description;

  Setting(String key, String valueLabel, String description) {
    this.key = key;
    this.valueLabel = valueLabel;
    this.description = description;
  }

  /** The config file key; the flag is {@code --} + key. */
  public String key() {
    return key;
  }

  public String flag() {
    return "--" + key;
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
