package dev.buildhost.monitor.config;

import dev.buildhost.common.size.Sizes;
import dev.buildhost.common.text.Texts;
import dev.buildhost.common.time.Durations;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.monitor.trust.PinnedKey;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The monitor's checked settings (see {@link Setting} for each one's meaning and default). Optional
 * settings are null when unset.
 */
public record MonitorConfig(
    Path root,
    Path stateDir,
    URI buildIdUrl,
    List<Toolchain> toolchains,
    long maxChecksumFileSize,
    long maxToolchainFileSize,
    String installCommand,
    String agentBuildCommand,
    Duration commandTimeout,
    AgentMode agentMode,
    String agentUnit,
    String systemctl,
    String agentCommand,
    Duration agentBackoffMin,
    Duration agentBackoffMax,
    Duration interval,
    Duration connectTimeout,
    Duration fetchTimeout,
    int fetchRetries,
    Duration retryDelay,
    URI daemonUrl,
    Path tokenFile,
    Duration drainTimeout,
    Duration drainPoll,
    boolean rebootWhenDaemonDown,
    String rebootCommand,
    int maxRebootsPerHour,
    String smtpRelay,
    List<String> adminEmail,
    String mailFrom,
    Duration smtpTimeout,
    String tftpTmpfsSize,
    FleetSettings fleet,
    List<String> warnings) {

  public MonitorConfig {
    toolchains = List.copyOf(toolchains);
    adminEmail = List.copyOf(adminEmail);
    warnings = List.copyOf(warnings);
  }

  public Path tftpDir() {
    return root.resolve("tftp");
  }

  /** {@code <root>/tftp/toolchain}: the published toolchains live in folders below it. */
  public Path toolchainsDir() {
    return tftpDir().resolve("toolchain");
  }

  /** The monitor's own part of the state folder. */
  public Path monitorStateDir() {
    return stateDir.resolve("monitor");
  }

  /** The agent mode with AUTO decided. */
  public AgentMode effectiveAgentMode() {
    if (agentMode != AgentMode.AUTO) {
      return agentMode;
    }
    return agentUnit != null
        ? AgentMode.SYSTEMD
        : agentCommand != null ? AgentMode.PROCESS : AgentMode.NONE;
  }

  /** A file or folder name safe to use inside the TFTP root: no separators, no leading dot. */
  public static boolean isValidName(String s) {
    return s.length() <= 100 && s.matches("[A-Za-z0-9_+-][A-Za-z0-9._+-]*");
  }

  /**
   * The toolchain name a checksum URL gives: its file name less {@code .sha256} ({@code
   * toolchain.sha256} gives toolchain).
   */
  public static String nameFromUrl(URI url) {
    String path = url.getPath() == null ? "" : url.getPath();
    String file = path.substring(path.lastIndexOf('/') + 1);
    String name = file.replaceFirst("\\.(sha256sums?|sha256|sum|txt)$", "");
    return isValidName(name) ? name : "toolchain";
  }

  /**
   * Merges the sources, lowest precedence first (file, kernel command line, flags), and checks
   * every value.
   *
   * @throws ConfigException naming the origin of the first bad value
   */
  public static MonitorConfig resolve(List<ConfigSource> lowToHigh) throws ConfigException {
    Map<Setting, RawValue> merged = new EnumMap<>(Setting.class);
    IdentityHashMap<RawValue, Integer> ranks = new IdentityHashMap<>();
    Map<String, RawValue> namedUrls = new LinkedHashMap<>();
    Map<String, RawValue> namedTrusts = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    int rank = 0;
    for (ConfigSource source : lowToHigh) {
      warnings.addAll(source.warnings());
      for (RawValue v : source.values()) {
        ranks.put(v, rank);
        if (v.suffix() == null) {
          merged.put(v.setting(), v);
        } else if (v.setting() == Setting.TOOLCHAIN_URL) {
          namedUrls.put(v.suffix(), v);
        } else {
          namedTrusts.put(v.suffix(), v);
        }
      }
      rank++;
    }
    return new Builder(merged, ranks, namedUrls, namedTrusts, warnings).build();
  }

  private static final class Builder {
    private final Map<Setting, RawValue> merged;
    private final IdentityHashMap<RawValue, Integer> ranks;
    private final Map<String, RawValue> namedUrls;
    private final Map<String, RawValue> namedTrusts;
    private final List<String> warnings;

    Builder(
        Map<Setting, RawValue> merged,
        IdentityHashMap<RawValue, Integer> ranks,
        Map<String, RawValue> namedUrls,
        Map<String, RawValue> namedTrusts,
        List<String> warnings) {
      this.merged = merged;
      this.ranks = ranks;
      this.namedUrls = namedUrls;
      this.namedTrusts = namedTrusts;
      this.warnings = warnings;
    }

    String text(Setting s) {
      RawValue v = merged.get(s);
      if (v == null) {
        return null;
      }
      String t = v.value().strip();
      return t.isEmpty() ? null : t;
    }

    String where(Setting s) {
      RawValue v = merged.get(s);
      return v == null ? s.key() : v.origin();
    }

    ConfigException bad(Setting s, String why) {
      return new ConfigException(where(s) + ": " + why);
    }

    Duration duration(Setting s, String dflt, boolean zeroOk) throws ConfigException {
      String t = text(s);
      try {
        Duration d = Durations.parse(t == null ? dflt : t);
        if (!zeroOk && d.isZero()) {
          throw bad(s, "must be longer than 0");
        }
        return d;
      } catch (IllegalArgumentException e) {
        throw bad(s, e.getMessage());
      }
    }

    boolean bool(Setting s, boolean dflt) throws ConfigException {
      String t = text(s);
      if (t == null) {
        return dflt;
      }
      return switch (t.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "1" -> true;
        case "false", "no", "0" -> false;
        default -> throw bad(s, "'" + Texts.shown(t) + "' is not true or false");
      };
    }

    long size(Setting s, String dflt) throws ConfigException {
      String t = text(s);
      long bytes;
      try {
        bytes = Sizes.parseBytes(t == null ? dflt : t, Sizes.Unit.BYTES);
      } catch (IllegalArgumentException e) {
        throw bad(s, e.getMessage());
      }
      if (bytes <= 0) {
        throw bad(s, "'" + Texts.shown(t) + "' is not a size larger than 0");
      }
      return bytes;
    }

    int integer(Setting s, int dflt, int min, int max) throws ConfigException {
      String t = text(s);
      if (t == null) {
        return dflt;
      }
      try {
        int n = Integer.parseInt(t);
        if (n < min || n > max) {
          throw bad(s, n + " is out of range " + min + ".." + max);
        }
        return n;
      } catch (NumberFormatException e) {
        throw bad(s, "'" + Texts.shown(t) + "' is not a whole number");
      }
    }

    URI url(Setting s) throws ConfigException {
      RawValue v = merged.get(s);
      return v == null ? null : url(v);
    }

    static URI url(RawValue v) throws ConfigException {
      String t = v.value().strip();
      if (t.isEmpty()) {
        return null;
      }
      try {
        URI u = new URI(t);
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null) {
          throw new ConfigException(
              v.origin() + ": '" + Texts.shown(t) + "' is not an http:// or https:// URL");
        }
        return u;
      } catch (URISyntaxException e) {
        throw new ConfigException(
            v.origin() + ": '" + Texts.shown(t) + "' is not a URL: " + e.getReason());
      }
    }

    /**
     * Every configured toolchain, by name: each {@code toolchain_url.<name>}, and {@code
     * toolchain_url} under {@code toolchain_name} (default: from its file name). The same name
     * given twice is decided by precedence; in one source it is an error. A {@code
     * toolchain_trust.<name>} belongs to that toolchain; {@code toolchain_trust} without a name to
     * every toolchain without one of its own.
     */
    List<Toolchain> toolchains() throws ConfigException {
      Map<String, RawValue> urls = new LinkedHashMap<>();
      RawValue plain = merged.get(Setting.TOOLCHAIN_URL);
      String name = text(Setting.TOOLCHAIN_NAME);
      if (name != null && !isValidName(name)) {
        throw bad(
            Setting.TOOLCHAIN_NAME,
            "'"
                + Texts.shown(name)
                + "' is not a usable folder name: letters, digits, '.', '_', '+', '-', not starting with '.'");
      }
      URI plainUrl = plain == null ? null : url(plain);
      if (plainUrl != null) {
        urls.put(name == null ? nameFromUrl(plainUrl) : name, plain);
      } else if (name != null) {
        warnings.add(
            where(Setting.TOOLCHAIN_NAME)
                + " names the toolchain of toolchain_url, which is not set (a toolchain_url.<name>"
                + " is named by its suffix); ignored");
      }
      for (Map.Entry<String, RawValue> e : namedUrls.entrySet()) {
        RawValue other = urls.get(e.getKey());
        RawValue mine = e.getValue();
        if (other != null) {
          int cmp = Integer.compare(ranks.get(mine), ranks.get(other));
          if (cmp == 0) {
            throw new ConfigException(
                mine.origin()
                    + ": names toolchain '"
                    + e.getKey()
                    + "', which "
                    + other.origin()
                    + " names too; keep one");
          }
          if (cmp < 0) {
            continue;
          }
        }
        urls.put(e.getKey(), mine);
      }
      RawValue defaultTrust = merged.get(Setting.TOOLCHAIN_TRUST);
      if (defaultTrust != null && urls.isEmpty() && namedUrls.isEmpty()) {
        pinnedKey(defaultTrust); // checked all the same: a typo shows before a toolchain is added
      }
      for (Map.Entry<String, RawValue> e : namedTrusts.entrySet()) {
        if (!urls.containsKey(e.getKey())) {
          warnings.add(
              e.getValue().origin()
                  + " is for toolchain '"
                  + e.getKey()
                  + "', which no toolchain_url names"
                  + (urls.isEmpty() ? "" : " (" + String.join(", ", urls.keySet()) + ")")
                  + "; ignored");
        }
      }
      List<Toolchain> out = new ArrayList<>();
      for (Map.Entry<String, RawValue> e : urls.entrySet()) {
        URI u = url(e.getValue());
        if (u == null) {
          continue; // an empty value unsets the toolchain
        }
        RawValue trustRaw = namedTrusts.getOrDefault(e.getKey(), defaultTrust);
        PinnedKey key = trustRaw == null ? null : pinnedKey(trustRaw);
        String trust = key == null ? null : trustRaw.value().strip();
        out.add(new Toolchain(e.getKey(), u, trust, key, e.getValue().origin()));
      }
      return out;
    }

    /** The key a toolchain_trust value pins, or null when it is empty. */
    static PinnedKey pinnedKey(RawValue trust) throws ConfigException {
      String t = trust.value().strip();
      if (t.isEmpty()) {
        return null;
      }
      try {
        return PinnedKey.parse(t);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(trust.origin() + ": " + e.getMessage());
      }
    }

    Path path(Setting s, Path dflt) throws ConfigException {
      String t = text(s);
      if (t == null) {
        return dflt;
      }
      try {
        return Path.of(t).toAbsolutePath().normalize();
      } catch (RuntimeException e) {
        throw bad(s, "'" + Texts.shown(t) + "' is not a path");
      }
    }

    MonitorConfig build() throws ConfigException {
      Path root = path(Setting.ROOT, Path.of("/build"));
      Path state =
          path(
              Setting.STATE_DIR,
              root.equals(Path.of("/build")) ? Path.of("/state/buildhost") : root.resolve("state"));
      URI buildId = url(Setting.BUILDID_URL);
      List<Toolchain> toolchains = toolchains();
      AgentMode mode;
      String modeText = text(Setting.AGENT_MODE);
      try {
        mode =
            modeText == null
                ? AgentMode.AUTO
                : AgentMode.valueOf(modeText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw bad(
            Setting.AGENT_MODE,
            "'" + Texts.shown(modeText) + "' is not one of auto, systemd, process, none");
      }
      String unit = text(Setting.AGENT_UNIT);
      String agentCommand = text(Setting.AGENT_COMMAND);
      if (mode == AgentMode.SYSTEMD && unit == null) {
        throw bad(Setting.AGENT_MODE, "systemd needs agent_unit");
      }
      if (mode == AgentMode.PROCESS && agentCommand == null) {
        throw bad(Setting.AGENT_MODE, "process needs agent_command");
      }
      boolean systemd = mode == AgentMode.SYSTEMD || (mode == AgentMode.AUTO && unit != null);
      if (systemd) {
        checkAgentUnit(unit, toolchains);
      }
      Duration backoffMin = duration(Setting.AGENT_BACKOFF_MIN, "1s", false);
      Duration backoffMax = duration(Setting.AGENT_BACKOFF_MAX, "5m", false);
      if (backoffMax.compareTo(backoffMin) < 0) {
        throw bad(
            Setting.AGENT_BACKOFF_MAX,
            "is shorter than agent_backoff_min (" + Durations.format(backoffMin) + ")");
      }
      String relay = text(Setting.SMTP_RELAY);
      if (relay != null
          && !relay.matches("[A-Za-z0-9.-]+(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?")) {
        throw bad(Setting.SMTP_RELAY, "'" + Texts.shown(relay) + "' is not host or host:port");
      }
      List<String> admins = new ArrayList<>();
      String adminText = text(Setting.ADMIN_EMAIL);
      if (adminText != null) {
        for (String a : adminText.split(",")) {
          String addr = a.strip();
          if (!addr.isEmpty()) {
            admins.add(checkedAddress(Setting.ADMIN_EMAIL, addr));
          }
        }
      }
      String from = text(Setting.MAIL_FROM);
      from =
          from == null
              ? "buildhost-monitor@" + hostName()
              : checkedAddress(Setting.MAIL_FROM, from);
      if (relay != null && admins.isEmpty()) {
        warnings.add(
            where(Setting.SMTP_RELAY) + ": set, but admin_email is not: no email will be sent");
      }
      String size = text(Setting.TFTP_TMPFS_SIZE);
      if (size != null && !size.matches("[0-9]{1,12}[kKmMgG%]?")) {
        throw bad(
            Setting.TFTP_TMPFS_SIZE,
            "'" + Texts.shown(size) + "' is not a tmpfs size such as 512m or 2g");
      }
      String reboot =
          merged.containsKey(Setting.REBOOT_COMMAND)
              ? text(Setting.REBOOT_COMMAND)
              : "systemctl reboot";
      if (reboot == null) {
        throw bad(Setting.REBOOT_COMMAND, "is empty; the monitor needs a command to reboot with");
      }
      String systemctl = text(Setting.SYSTEMCTL);
      FleetSettings fleet = fleet();
      return new MonitorConfig(
          root,
          state,
          buildId,
          toolchains,
          size(Setting.MAX_CHECKSUM_FILE_SIZE, "1m"),
          size(Setting.MAX_TOOLCHAIN_FILE_SIZE, "4g"),
          text(Setting.INSTALL_COMMAND),
          text(Setting.AGENT_BUILD_COMMAND),
          duration(Setting.COMMAND_TIMEOUT, "2h", false),
          mode,
          unit,
          systemctl == null ? "systemctl" : systemctl,
          agentCommand,
          backoffMin,
          backoffMax,
          duration(Setting.INTERVAL, "5m", false),
          duration(Setting.CONNECT_TIMEOUT, "60s", false),
          duration(Setting.FETCH_TIMEOUT, "600s", false),
          integer(Setting.FETCH_RETRIES, 4, 0, 100),
          duration(Setting.RETRY_DELAY, "5s", true),
          url(Setting.DAEMON_URL),
          path(Setting.TOKEN_FILE, state.resolve("api-token")),
          duration(Setting.DRAIN_TIMEOUT, "2h", true),
          duration(Setting.DRAIN_POLL, "5s", false),
          bool(Setting.REBOOT_WHEN_DAEMON_DOWN, false),
          reboot,
          integer(Setting.MAX_REBOOTS_PER_HOUR, 3, 0, 1000),
          relay,
          admins,
          from,
          duration(Setting.SMTP_TIMEOUT, "30s", false),
          size,
          fleet,
          warnings);
    }

    /** The fleet the fleet_ settings name, or null when none is set. */
    FleetSettings fleet() throws ConfigException {
      Map<FleetSettings.Key, FleetSettings.Value> given = new EnumMap<>(FleetSettings.Key.class);
      for (Setting s : Setting.values()) {
        String t = text(s);
        if (s.fleetKey() != null && t != null) {
          given.put(s.fleetKey(), new FleetSettings.Value(t, merged.get(s).origin()));
        }
      }
      try {
        return FleetSettings.parse(given).orElse(null);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage());
      }
    }

    /**
     * One agent per toolchain: with several, each needs a unit of its own, so agent_unit must name
     * the toolchain ({@code {toolchain}}) or be a template ({@code bbot-agent@.service}); a
     * template needs a toolchain to be instantiated with.
     */
    void checkAgentUnit(String unit, List<Toolchain> toolchains) throws ConfigException {
      boolean named = unit.contains(Toolchain.PLACEHOLDER) || Toolchain.isTemplate(unit);
      if (toolchains.size() > 1 && !named) {
        throw bad(
            Setting.AGENT_UNIT,
            "'"
                + Texts.shown(unit)
                + "' is one unit, but the host serves "
                + toolchains.size()
                + " toolchains ("
                + String.join(", ", toolchains.stream().map(Toolchain::name).toList())
                + ") and starts one agent each: use a template such as bbot-agent@.service or"
                + " put {toolchain} in the unit name");
      }
      if (toolchains.isEmpty() && named) {
        throw bad(
            Setting.AGENT_UNIT,
            "'"
                + Texts.shown(unit)
                + "' names a toolchain, but no toolchain_url is set: set one or name a plain unit");
      }
    }

    String checkedAddress(Setting s, String addr) throws ConfigException {
      if (!addr.matches("[^\\s<>@,\"]+@[A-Za-z0-9.-]+")) {
        throw bad(s, "'" + Texts.shown(addr) + "' is not an email address");
      }
      return addr;
    }
  }

  /** This host's name from /proc/sys/kernel/hostname (no DNS look-up), or localhost. */
  public static String hostName() {
    try {
      String n = java.nio.file.Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      return n.matches("[A-Za-z0-9.-]+") ? n : "localhost";
    } catch (java.io.IOException | RuntimeException e) {
      return "localhost";
    }
  }
}
