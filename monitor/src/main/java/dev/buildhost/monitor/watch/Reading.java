package dev.buildhost.monitor.watch;

/**
 * One look at a watched URL: the value seen, or why none could be seen ("unknown"). An unknown
 * reading never causes a reboot.
 *
 * @param value what was seen (the build-id text, or the checksum file's SHA-256), or null
 * @param error why nothing was seen, or null
 */
public record Reading(String value, String error) {
  public static Reading of(String value) {
    return new Reading(value, null);
  }

  public static Reading unknown(String error) {
    return new Reading(null, error);
  }

  public boolean known() {
    return value != null;
  }
}
