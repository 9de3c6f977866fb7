package dev.buildhost.common.config;

import java.util.List;

/**
 * A parsed config file.
 *
 * @param name the file's name as messages show it
 * @param entries its settings in line order
 * @param warnings what was accepted but should be written differently, each naming file and line
 */
public record ConfigText(String name, List<ConfigEntry> entries, List<String> warnings) {

  public ConfigText {
    entries = List.copyOf(entries);
    warnings = List.copyOf(warnings);
  }
}
