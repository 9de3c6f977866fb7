package dev.buildhost.manager.network;

import java.util.Locale;

/**
 * How guests are networked. {@link #BRIDGE} is the isolated guest network of this package; {@link
 * #USER} is QEMU user networking and host-networked containers, the fallback for hosts where a
 * bridge cannot be made (its limits are listed in doc/network.md).
 */
public enum NetworkMode {
  BRIDGE,
  USER;

  /** Parses {@code bridge} or {@code user}; the error names the setting and the accepted values. */
  public static NetworkMode parse(String text) {
    String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    return switch (value) {
      case "bridge" -> BRIDGE;
      case "user" -> USER;
      default ->
          throw new IllegalArgumentException(
              "network mode '" + text + "' is not known: use 'bridge' or 'user'");
    };
  }

  public String settingValue() {
    return name().toLowerCase(Locale.ROOT);
  }
}
