package dev.buildhost.monitor.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads the three sources in order of precedence and resolves them: flag, kernel command line,
 * file, default.
 */
public final class ConfigLoader {
  public static final Path DEFAULT_CONFIG_FILE = Path.of("/etc/buildhost/monitor.conf");
  public static final Path DEFAULT_CMDLINE = Path.of("/proc/cmdline");

  private ConfigLoader() {}

  /**
   * @param configFile the config file, or null for {@link #DEFAULT_CONFIG_FILE} if it exists
   * @param cmdlineFile the kernel command line, or null for /proc/cmdline
   * @param flags values given as flags
   */
  public static MonitorConfig load(Path configFile, Path cmdlineFile, Map<Setting, String> flags)
      throws ConfigException {
    List<ConfigSource> sources = new ArrayList<>();
    if (configFile != null) {
      if (!Files.isRegularFile(configFile)) {
        throw new ConfigException(
            "config file " + configFile + " does not exist (given by --config)");
      }
      sources.add(ConfigFile.read(configFile));
    } else if (Files.isRegularFile(DEFAULT_CONFIG_FILE)) {
      sources.add(ConfigFile.read(DEFAULT_CONFIG_FILE));
    }
    sources.add(KernelCmdline.read(cmdlineFile == null ? DEFAULT_CMDLINE : cmdlineFile));
    sources.add(flags(flags));
    return MonitorConfig.resolve(sources);
  }

  public static ConfigSource flags(Map<Setting, String> flags) {
    List<RawValue> values = new ArrayList<>();
    flags.forEach((s, v) -> values.add(new RawValue(s, null, v, s.flag())));
    return new ConfigSource("flags", values, List.of());
  }
}
