package dev.buildhost.monitor.config;

import java.util.List;

/**
 * The values read from one place (default file, kernel command line, flags), with warnings about
 * what was skipped.
 */
public record ConfigSource(String name, List<RawValue> values, List<String> warnings) {

  public ConfigSource {
    values = List.copyOf(values);
    warnings = List.copyOf(warnings);
  }

  /**
   * Splits {@code toolchain_url.stage} into its setting and suffix. Only toolchain_url and
   * toolchain_trust take a suffix (Build OS names per-toolchain parameters that way).
   *
   * @return null if the key names no setting
   */
  static RawValue keyed(String key, String value, String origin) {
    int dot = key.indexOf('.');
    String base = dot < 0 ? key : key.substring(0, dot);
    String suffix = dot < 0 ? null : key.substring(dot + 1);
    Setting s = Setting.byKey(base).orElse(null);
    if (s == null) {
      return null;
    }
    if (suffix != null && s != Setting.TOOLCHAIN_URL && s != Setting.TOOLCHAIN_TRUST) {
      return null;
    }
    if (suffix != null && !MonitorConfig.isValidName(suffix)) {
      return null;
    }
    return new RawValue(s, suffix, value, origin);
  }
}
