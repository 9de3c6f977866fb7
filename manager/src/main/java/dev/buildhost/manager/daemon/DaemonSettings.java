package dev.buildhost.manager.daemon;

import dev.buildhost.common.size.Sizes;
import dev.buildhost.common.time.Durations;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ContainerLimits;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.machine.ContainerCapabilities;
import dev.buildhost.manager.network.GuestNetwork;
import dev.buildhost.manager.network.NetworkMode;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything {@code buildhost daemon} runs with: the manager's config plus the daemon's own
 * addresses and exit behaviour.
 *
 * @param manager the machine manager's settings
 * @param listen the HTTP API's address
 * @param tftpListen the read-only TFTP server's address; null when it is off
 * @param stopInstancesOnExit whether SIGTERM powers off running instances
 * @param network the guest network's settings and whether its mode was chosen or left to the daemon
 * @param toolchains toolchain ids the {@code toolchains} setting gives, by name
 * @param fleet the fleet the host is in; empty when no fleet setting is given
 */
public record DaemonSettings(
    ManagerConfig manager,
    InetSocketAddress listen,
    InetSocketAddress tftpListen,
    boolean stopInstancesOnExit,
    NetworkChoice network,
    Map<String, String> toolchains,
    Optional<FleetSettings> fleet) {

  public DaemonSettings {
    toolchains = toolchains == null ? Map.of() : Map.copyOf(toolchains);
    fleet = fleet == null ? Optional.empty() : fleet;
  }

  /** Settings of a host in no fleet. */
  public DaemonSettings(
      ManagerConfig manager,
      InetSocketAddress listen,
      InetSocketAddress tftpListen,
      boolean stopInstancesOnExit,
      NetworkChoice network,
      Map<String, String> toolchains) {
    this(manager, listen, tftpListen, stopInstancesOnExit, network, toolchains, Optional.empty());
  }

  /**
   * The guest network's settings.
   *
   * @param settings names, addresses and mode
   * @param automatic true when no setting names the mode: the daemon then runs {@code bridge} when
   *     it can make one and {@code user} otherwise, and says which in its log and in {@code host}
   */
  public record NetworkChoice(GuestNetwork settings, boolean automatic) {
    /** Mode {@code user}, chosen: today's loopback networking, nothing made on the host. */
    public static NetworkChoice user() {
      return new NetworkChoice(GuestNetwork.defaults().withMode(NetworkMode.USER), false);
    }
  }

  /** Settings in the fallback network mode {@code user}, as chosen (tests, embedded daemons). */
  public DaemonSettings(
      ManagerConfig manager,
      InetSocketAddress listen,
      InetSocketAddress tftpListen,
      boolean stopInstancesOnExit) {
    this(manager, listen, tftpListen, stopInstancesOnExit, NetworkChoice.user(), Map.of());
  }

  /** The same settings with another guest network (a test's own bridge and table names). */
  public DaemonSettings withNetwork(NetworkChoice other) {
    return new DaemonSettings(
        manager, listen, tftpListen, stopInstancesOnExit, other, toolchains, fleet);
  }

  /** The same settings in another fleet (tests). */
  public DaemonSettings withFleet(FleetSettings other) {
    return new DaemonSettings(
        manager, listen, tftpListen, stopInstancesOnExit, network, toolchains, Optional.of(other));
  }

  public static final int DEFAULT_API_PORT = 7346;

  private static final Pattern RANGE = Pattern.compile("(\\d+)\\s*-\\s*(\\d+)");

  /**
   * Settings from the config file's values overridden by the flags' values; what neither names
   * keeps its default. An unusable value is a {@link ConfigException} naming its origin.
   */
  public static DaemonSettings resolve(
      Map<Setting, String> file, String fileName, Map<Setting, String> flags) {
    return resolve(new ConfigFile(fileName, file, List.of()), flags);
  }

  /**
   * Settings from the config file overridden by the flags; errors name the file's line where it is
   * known.
   */
  public static DaemonSettings resolve(ConfigFile file, Map<Setting, String> flags) {
    Values values = new Values(file.values(), file.name(), file.where(), flags);
    Path root = values.has(Setting.ROOT) ? values.path(Setting.ROOT) : Path.of("/build");
    ManagerConfig d = ManagerConfig.defaults(root);
    int[] ports =
        values.has(Setting.TFTP_PORTS)
            ? values.range(Setting.TFTP_PORTS)
            : new int[] {d.tftpPortFirst(), d.tftpPortLast()};
    ManagerConfig config =
        new ManagerConfig(
            root,
            values.has(Setting.STATE_DIR) ? values.path(Setting.STATE_DIR) : d.stateDir(),
            ports[0],
            ports[1],
            values.has(Setting.MAX_INSTANCES)
                ? values.positiveInt(Setting.MAX_INSTANCES)
                : d.maxInstances(),
            values.has(Setting.RAM_BUDGET) ? values.sizeMib(Setting.RAM_BUDGET) : d.ramBudgetMib(),
            values.has(Setting.DEFAULT_TIMEOUT)
                ? values.duration(Setting.DEFAULT_TIMEOUT)
                : d.defaultTimeout(),
            values.has(Setting.POWEROFF_GRACE)
                ? values.duration(Setting.POWEROFF_GRACE)
                : d.poweroffGrace(),
            values.has(Setting.ACCEL) ? values.acceleration(Setting.ACCEL) : d.acceleration(),
            values.has(Setting.LIBVIRT_URI) ? values.text(Setting.LIBVIRT_URI) : d.libvirtUri(),
            values.has(Setting.DOCKER_HOST) ? values.text(Setting.DOCKER_HOST) : d.dockerHost(),
            values.has(Setting.DOCKER_NETWORK)
                ? values.text(Setting.DOCKER_NETWORK)
                : d.dockerNetworkMode());
    UploadLimits uploads = config.tftpUploadLimits();
    config =
        config.withTftpUploadLimits(
            new UploadLimits(
                values.has(Setting.TFTP_UPLOAD_QUOTA)
                    ? values.sizeBytes(Setting.TFTP_UPLOAD_QUOTA)
                    : uploads.quotaBytes(),
                values.has(Setting.TFTP_MAX_FILE)
                    ? values.sizeBytes(Setting.TFTP_MAX_FILE)
                    : uploads.maxFileBytes()));
    config = config.withContainerLimits(containerLimits(values, config.containerLimits()));
    InetSocketAddress listen =
        values.has(Setting.LISTEN)
            ? values.address(Setting.LISTEN)
            : new InetSocketAddress(InetAddress.getLoopbackAddress(), DEFAULT_API_PORT);
    InetSocketAddress tftp =
        !values.has(Setting.TFTP_LISTEN)
            ? new InetSocketAddress(InetAddress.getLoopbackAddress(), 69)
            : values.text(Setting.TFTP_LISTEN).equals("off")
                ? null
                : values.address(Setting.TFTP_LISTEN);
    boolean stop =
        values.has(Setting.STOP_INSTANCES_ON_EXIT) && values.bool(Setting.STOP_INSTANCES_ON_EXIT);
    Map<String, String> toolchains =
        values.has(Setting.TOOLCHAINS) ? values.toolchains(Setting.TOOLCHAINS) : Map.of();
    return new DaemonSettings(
        config, listen, tftp, stop, network(values), toolchains, fleet(values));
  }

  private static Optional<FleetSettings> fleet(Values values) {
    Map<FleetSettings.Key, FleetSettings.Value> given = new EnumMap<>(FleetSettings.Key.class);
    for (Setting s : Setting.values()) {
      if (s.fleetKey() != null && values.has(s)) {
        String text = values.flags().containsKey(s) ? values.flags().get(s) : values.file().get(s);
        String origin =
            values.flags().containsKey(s)
                ? s.flag()
                : values.where().getOrDefault(s, values.fileName());
        given.put(s.fleetKey(), new FleetSettings.Value(text, origin));
      }
    }
    try {
      return FleetSettings.parse(given);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  private static ContainerLimits containerLimits(Values values, ContainerLimits d) {
    List<String> capabilities = d.capabilities();
    if (values.has(Setting.CONTAINER_CAPABILITIES)) {
      String text = values.text(Setting.CONTAINER_CAPABILITIES);
      try {
        capabilities = ContainerCapabilities.parse(text);
      } catch (IllegalArgumentException e) {
        throw values.bad(Setting.CONTAINER_CAPABILITIES, text, e.getMessage());
      }
    }
    long pids = d.pidsLimit();
    if (values.has(Setting.CONTAINER_PIDS_LIMIT)) {
      pids = values.positiveInt(Setting.CONTAINER_PIDS_LIMIT);
      if (pids > ContainerCapabilities.MAX_PIDS) {
        throw values.bad(
            Setting.CONTAINER_PIDS_LIMIT,
            values.text(Setting.CONTAINER_PIDS_LIMIT),
            "more than the kernel's " + ContainerCapabilities.MAX_PIDS);
      }
    }
    return new ContainerLimits(capabilities, pids);
  }

  private static NetworkChoice network(Values values) {
    GuestNetwork d = GuestNetwork.defaults();
    boolean automatic =
        !values.has(Setting.NETWORK_MODE)
            || values.text(Setting.NETWORK_MODE).equalsIgnoreCase("auto");
    NetworkMode mode = automatic ? d.mode() : values.networkMode(Setting.NETWORK_MODE);
    String bridge =
        values.has(Setting.NETWORK_BRIDGE) ? values.text(Setting.NETWORK_BRIDGE) : d.bridgeName();
    String address =
        values.has(Setting.NETWORK_ADDRESS) ? values.text(Setting.NETWORK_ADDRESS) : d.hostCidr();
    String range =
        values.has(Setting.NETWORK_GUEST_RANGE)
            ? values.text(Setting.NETWORK_GUEST_RANGE)
            : d.rangeFirst().getHostAddress() + "-" + d.rangeLast().getHostAddress();
    String table =
        values.has(Setting.NETWORK_TABLE) ? values.text(Setting.NETWORK_TABLE) : d.tableName();
    String prefix =
        values.has(Setting.NETWORK_PORT_PREFIX)
            ? values.text(Setting.NETWORK_PORT_PREFIX)
            : d.portPrefix();
    boolean nat =
        values.has(Setting.NETWORK_OUTBOUND_NAT)
            ? values.bool(Setting.NETWORK_OUTBOUND_NAT)
            : d.outboundNatDefault();
    int slash = address.indexOf('/');
    if (slash <= 0) {
      throw values.bad(
          Setting.NETWORK_ADDRESS,
          address,
          "not ADDRESS/PREFIX like " + d.hostCidr() + "; the prefix sets the guest subnet");
    }
    int prefixLength;
    try {
      prefixLength = Integer.parseInt(address.substring(slash + 1).strip());
    } catch (NumberFormatException e) {
      throw values.bad(Setting.NETWORK_ADDRESS, address, "the prefix length is not a number");
    }
    int dash = range.indexOf('-');
    if (dash <= 0) {
      throw values.bad(Setting.NETWORK_GUEST_RANGE, range, "not FIRST-LAST");
    }
    try {
      GuestNetwork settings =
          GuestNetwork.of(
              mode.settingValue(),
              bridge,
              address.substring(0, slash).strip(),
              prefixLength,
              range.substring(0, dash).strip(),
              range.substring(dash + 1).strip(),
              table,
              prefix,
              nat);
      return new NetworkChoice(settings, automatic);
    } catch (IllegalArgumentException e) {
      // GuestNetwork names the setting and value; say where the value came from.
      throw new ConfigException(
          "guest network settings ("
              + values.origins(
                  Setting.NETWORK_BRIDGE,
                  Setting.NETWORK_ADDRESS,
                  Setting.NETWORK_GUEST_RANGE,
                  Setting.NETWORK_TABLE,
                  Setting.NETWORK_PORT_PREFIX)
              + "): "
              + e.getMessage());
    }
  }

  /** The values with their origins, for error messages. */
  private record Values(
      Map<Setting, String> file,
      String fileName,
      Map<Setting, String> where,
      Map<Setting, String> flags) {

    boolean has(Setting s) {
      return flags.containsKey(s) || file.containsKey(s);
    }

    /** Where the given settings come from, e.g. for an error about several of them together. */
    String origins(Setting... settings) {
      StringBuilder out = new StringBuilder();
      for (Setting s : settings) {
        if (has(s)) {
          out.append(out.isEmpty() ? "" : ", ").append(origin(s));
        }
      }
      return out.isEmpty() ? "defaults" : out.toString();
    }

    NetworkMode networkMode(Setting s) {
      String value = text(s);
      try {
        return NetworkMode.parse(value);
      } catch (IllegalArgumentException e) {
        throw bad(s, value, "not auto, bridge or user");
      }
    }

    String origin(Setting s) {
      return flags.containsKey(s) ? s.flag() : "'" + s.key() + "' in " + fileName;
    }

    String text(Setting s) {
      String value = flags.containsKey(s) ? flags.get(s) : file.get(s);
      if (value == null || value.isBlank()) {
        throw bad(s, value, "it is empty");
      }
      return value.strip();
    }

    ConfigException bad(Setting s, String value, String why) {
      return new ConfigException(
          origin(s)
              + ": '"
              + value
              + "' is not a valid value ("
              + why
              + "); expected "
              + s.valueLabel()
              + ": "
              + s.description());
    }

    Path path(Setting s) {
      return Path.of(text(s)).toAbsolutePath().normalize();
    }

    int positiveInt(Setting s) {
      String value = text(s);
      try {
        int n = Integer.parseInt(value);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw bad(s, value, "not a positive whole number");
    }

    long sizeMib(Setting s) {
      String value = text(s);
      long mib;
      try {
        mib = Sizes.parseMib(value, Sizes.Unit.MIB);
      } catch (IllegalArgumentException e) {
        throw bad(s, value, "not a size like 16G or 4096M");
      }
      if (mib <= 0) {
        throw bad(s, value, "less than 1 MiB");
      }
      return mib;
    }

    long sizeBytes(Setting s) {
      String value = text(s);
      long bytes;
      try {
        bytes = Sizes.parseBytes(value, Sizes.Unit.BYTES);
      } catch (IllegalArgumentException e) {
        throw bad(s, value, "not a size like 1G, 512M or 65536");
      }
      if (bytes <= 0) {
        throw bad(s, value, "less than 1 byte");
      }
      return bytes;
    }

    Duration duration(Setting s) {
      String value = text(s);
      try {
        return Durations.parsePositive(value);
      } catch (IllegalArgumentException e) {
        throw bad(s, value, e.getMessage());
      }
    }

    Acceleration acceleration(Setting s) {
      String value = text(s);
      try {
        return Acceleration.valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw bad(s, value, "not auto, kvm or tcg");
      }
    }

    boolean bool(Setting s) {
      String value = text(s);
      return switch (value.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on" -> true;
        case "false", "no", "off" -> false;
        default -> throw bad(s, value, "not true or false");
      };
    }

    /** {@code name=id} pairs separated by commas (or blanks); each name once. */
    Map<String, String> toolchains(Setting s) {
      String value = text(s);
      Map<String, String> ids = new TreeMap<>();
      if (value.strip().equalsIgnoreCase("none")) {
        return ids;
      }
      for (String pair : value.split("[,\\s]+")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw bad(s, value, "'" + pair + "' is not NAME=ID");
        }
        String name = pair.substring(0, eq);
        String id = pair.substring(eq + 1);
        if (!Toolchains.NAME.matcher(name).matches()) {
          throw bad(
              s,
              value,
              "'" + name + "' is not a toolchain name (letters, digits, '.', '_', '+', '-')");
        }
        if (!Toolchains.ID.matcher(id).matches()) {
          throw bad(
              s,
              value,
              "the id of "
                  + name
                  + " must be 1 to 128 letters, digits, '.', '_', '+' or '-', not '"
                  + id
                  + "'");
        }
        if (ids.put(name, id) != null) {
          throw bad(s, value, "toolchain " + name + " is named twice");
        }
      }
      return ids;
    }

    int[] range(Setting s) {
      String value = text(s);
      Matcher m = RANGE.matcher(value);
      if (!m.matches()) {
        throw bad(s, value, "not a port range like 10000-10999");
      }
      int first = port(s, value, m.group(1));
      int last = port(s, value, m.group(2));
      if (first == 0 || first > last) {
        throw bad(s, value, "the first port must be between 1 and the last port");
      }
      return new int[] {first, last};
    }

    InetSocketAddress address(Setting s) {
      String value = text(s);
      int colon = value.lastIndexOf(':');
      if (colon <= 0) {
        throw bad(s, value, "not ADDRESS:PORT");
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port = port(s, value, value.substring(colon + 1));
      try {
        return new InetSocketAddress(InetAddress.getByName(host), port);
      } catch (UnknownHostException e) {
        throw bad(s, value, "unknown address " + host);
      }
    }

    private int port(Setting s, String value, String text) {
      try {
        int port = Integer.parseInt(text.strip());
        if (port >= 0 && port <= 65535) {
          return port;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw bad(s, value, "'" + text + "' is not a port number 0-65535");
    }
  }
}
