package dev.buildhost.manager.daemon;

import dev.buildhost.common.config.ConfigEntry;
import dev.buildhost.common.config.ConfigFileException;
import dev.buildhost.common.config.ConfigFormat;
import dev.buildhost.common.config.ConfigText;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The daemon's config file, in the format every buildhost config file has ({@link ConfigFormat}:
 * {@code key = value} lines, {@code #} comments, keys such as {@code state_dir}); the keys are
 * those of {@link Setting}. An unknown key is an error naming the file and line; a key in the old
 * dashed spelling is read, with a warning.
 *
 * @param name the file as messages name it
 * @param values the settings it gives
 * @param warnings what it should write differently, each naming file and line
 * @param where where each setting is written, {@code FILE:LINE}
 */
public record ConfigFile(
    String name, Map<Setting, String> values, List<String> warnings, Map<Setting, String> where) {

  public ConfigFile {
    Map<Setting, String> copy = new EnumMap<>(Setting.class);
    copy.putAll(values);
    values = Collections.unmodifiableMap(copy);
    warnings = List.copyOf(warnings);
    Map<Setting, String> lines = new EnumMap<>(Setting.class);
    lines.putAll(where);
    where = Collections.unmodifiableMap(lines);
  }

  /** Values whose lines are not known. */
  public ConfigFile(String name, Map<Setting, String> values, List<String> warnings) {
    this(name, values, warnings, Map.of());
  }

  public static ConfigFile read(Path file) {
    try {
      return of(ConfigFormat.read(file));
    } catch (ConfigFileException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  static ConfigFile parse(String name, String text) {
    try {
      return of(ConfigFormat.parse(name, text.getBytes(StandardCharsets.UTF_8)));
    } catch (ConfigFileException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  private static ConfigFile of(ConfigText text) {
    Map<Setting, String> values = new EnumMap<>(Setting.class);
    Map<Setting, String> where = new EnumMap<>(Setting.class);
    for (ConfigEntry entry : text.entries()) {
      Setting setting = Setting.ofKey(entry.key());
      if (setting == null) {
        throw new ConfigException(
            entry.where()
                + ": unknown key '"
                + entry.key()
                + "'; the keys are: "
                + Arrays.stream(Setting.values())
                    .map(Setting::key)
                    .collect(Collectors.joining(", ")));
      }
      values.put(setting, entry.value());
      where.put(setting, entry.where());
    }
    return new ConfigFile(text.name(), values, text.warnings(), where);
  }
}
