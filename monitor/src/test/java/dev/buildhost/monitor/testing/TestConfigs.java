package dev.buildhost.monitor.testing;

import dev.buildhost.monitor.config.ConfigException;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.ConfigSource;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** Configs with test-sized timings, and the reboot command stand-in. */
public final class TestConfigs {
  private TestConfigs() {}

  /** A config under {@code dir} with millisecond timings; {@code more} overrides. */
  public static MonitorConfig config(Path dir, Map<Setting, String> more) throws ConfigException {
    return config(dir, more, List.of());
  }

  /**
   * A config under {@code dir} with millisecond timings; {@code more} overrides as flags, over the
   * sources {@code lower} (such as a config file naming toolchains: flags cannot).
   */
  public static MonitorConfig config(Path dir, Map<Setting, String> more, List<ConfigSource> lower)
      throws ConfigException {
    Map<Setting, String> m = new EnumMap<>(Setting.class);
    m.put(Setting.ROOT, dir.resolve("build").toString());
    m.put(Setting.STATE_DIR, dir.resolve("state").toString());
    m.put(Setting.INTERVAL, "50ms");
    m.put(Setting.CONNECT_TIMEOUT, "2s");
    m.put(Setting.FETCH_TIMEOUT, "2s");
    m.put(Setting.FETCH_RETRIES, "1");
    m.put(Setting.RETRY_DELAY, "10ms");
    m.put(Setting.DRAIN_TIMEOUT, "5s");
    m.put(Setting.DRAIN_POLL, "20ms");
    m.put(Setting.COMMAND_TIMEOUT, "30s");
    m.put(Setting.AGENT_MODE, "none");
    m.put(Setting.REBOOT_COMMAND, "false");
    m.putAll(more);
    List<ConfigSource> sources = new ArrayList<>(lower);
    sources.add(ConfigLoader.flags(m));
    return MonitorConfig.resolve(sources);
  }

  /**
   * A real script standing in for the reboot: it appends {@code $BUILDHOST_REBOOT_REASON} as one
   * line to {@code log}. Returns the command to configure.
   */
  public static String rebootScript(Path dir, Path log) throws IOException {
    Path script = dir.resolve("fake-reboot.sh");
    Files.writeString(
        script, "#!/bin/sh\nprintf '%s\\n' \"$BUILDHOST_REBOOT_REASON\" >> '" + log + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return script.toString();
  }

  /** The lines a reboot script wrote, or none. */
  public static List<String> rebootLog(Path log) throws IOException {
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }
}
