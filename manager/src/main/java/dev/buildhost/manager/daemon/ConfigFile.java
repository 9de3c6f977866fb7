package dev.buildhost.manager.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The daemon's config file: one {@code key = value} per line, {@code #} starts a comment line,
 * blank lines are ignored, keys are those of {@link Setting}. An unknown key, a line without
 * '=', or a key given twice is an error naming the file and line.
 */
public final class ConfigFile {

  private ConfigFile() {
  }

  public static Map<Setting, String> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("cannot read the config file " + file + ": " + e);
    }
    return parse(file.toString(), lines);
  }

  static Map<Setting, String> parse(String fileName, List<String> lines) {
    Map<Setting, String> values = new EnumMap<>(Setting.class);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      String where = fileName + ":" + (i + 1) + ": ";
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq < 0) {
        throw new ConfigException(where + "expected 'key = value', got '" + line + "'");
      }
      String key = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      Setting setting = Setting.ofKey(key);
      if (setting == null) {
        throw new ConfigException(where + "unknown key '" + key + "'; the keys are: " + keys());
      }
      if (values.put(setting, value) != null) {
        throw new ConfigException(where + "'" + key + "' is set a second time");
      }
    }
    return values;
  }

  private static String keys() {
    StringBuilder out = new StringBuilder();
    for (Setting setting : Setting.values()) {
      out.append(out.length() == 0 ? "" : ", ").append(setting.key());
    }
    return out.toString();
  }
}
