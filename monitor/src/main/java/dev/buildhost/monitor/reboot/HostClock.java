package dev.buildhost.monitor.reboot;

import dev.buildhost.monitor.state.StateStore;
import dev.buildhost.monitor.state.Uptime;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host time for the reboot rate cap: milliseconds the host has been up, summed over its boots, so
 * that no step of the wall clock (NTP, a wrong RTC) moves it, backwards or forwards.
 *
 * <p>Within a boot it is {@code base + uptime}. At a new boot (another boot id, or an uptime
 * smaller than the last one seen) the base becomes the last value seen in the previous boot, kept
 * in {@code host-clock.json} and brought up to date at every check. The time between that last look
 * and the next boot is not counted, so ages measured on this clock are never longer than the real
 * ones: the cap errs on the side of refusing.
 */
public final class HostClock {
  private static final Logger LOG = LoggerFactory.getLogger(HostClock.class);

  /** What {@code host-clock.json} holds: the boot, its base, and its uptime at the last look. */
  public record Saved(String bootId, long baseMillis, long uptimeMillis) {
    long lastSeen() {
      return baseMillis + uptimeMillis;
    }
  }

  private final StateStore store;
  private final String bootId;
  private final Uptime uptime;
  private final LongSupplier floor;
  private Long base;

  /**
   * @param floor the least value a new boot may start from (the latest reboot record's host time),
   *     so that a lost {@code host-clock.json} cannot make recorded reboots look newer
   */
  public HostClock(StateStore store, String bootId, Uptime uptime, LongSupplier floor) {
    this.store = store;
    this.bootId = bootId;
    this.uptime = uptime;
    this.floor = floor;
  }

  public Path file() {
    return store.dir().resolve("host-clock.json");
  }

  /**
   * The host time now, persisted as the last look of this boot; empty (logged) when the uptime
   * cannot be read.
   */
  public synchronized OptionalLong now() {
    long up;
    try {
      up = uptime.sinceBoot().toMillis();
    } catch (IOException e) {
      LOG.warn(
          "cannot read the uptime ({}); the reboot rate cap falls back to the wall clock",
          e.getMessage());
      return OptionalLong.empty();
    }
    if (base == null) {
      Saved saved = store.read(file(), Saved.class).orElse(null);
      boolean sameBoot =
          saved != null
              && up >= saved.uptimeMillis()
              && (bootId == null || saved.bootId() == null || bootId.equals(saved.bootId()));
      base =
          sameBoot
              ? saved.baseMillis()
              : Math.max(saved == null ? 0 : saved.lastSeen(), floor.getAsLong());
    }
    try {
      store.write(file(), new Saved(bootId, base, up));
    } catch (IOException e) {
      LOG.warn("cannot write {}: {}", file(), e.getMessage());
    }
    return OptionalLong.of(base + up);
  }
}
