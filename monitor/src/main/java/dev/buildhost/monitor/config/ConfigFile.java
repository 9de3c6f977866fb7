package dev.buildhost.monitor.config;

import dev.buildhost.common.config.ConfigEntry;
import dev.buildhost.common.config.ConfigFileException;
import dev.buildhost.common.config.ConfigFormat;
import dev.buildhost.common.config.ConfigText;
import dev.buildhost.common.text.Texts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The monitor's config file, in the format every buildhost config file has ({@link ConfigFormat}:
 * {@code key = value} lines, {@code #} comments, keys such as {@code state_dir}). Keys are the
 * setting names of {@link Setting}; an unknown key is an error naming the file and line; a key in
 * the dashed spelling is read, with a warning.
 */
public final class ConfigFile {
  static final long MAX_BYTES = ConfigFormat.MAX_BYTES;

  private ConfigFile() {}

  public static ConfigSource read(Path file) throws ConfigException {
    try {
      return of(ConfigFormat.read(file));
    } catch (ConfigFileException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  public static ConfigSource parse(String name, byte[] bytes) throws ConfigException {
    try {
      return of(ConfigFormat.parse(name, bytes));
    } catch (ConfigFileException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  private static ConfigSource of(ConfigText text) throws ConfigException {
    List<RawValue> values = new ArrayList<>();
    for (ConfigEntry entry : text.entries()) {
      RawValue raw =
          ConfigSource.keyed(entry.key(), entry.value(), entry.where() + ": " + entry.key());
      if (raw == null) {
        throw new ConfigException(
            entry.where()
                + ": unknown setting '"
                + Texts.shown(entry.key())
                + "'; the settings are listed by 'buildhost monitor --help' and in doc/monitor.md");
      }
      values.add(raw);
    }
    return new ConfigSource(text.name(), values, text.warnings());
  }
}
