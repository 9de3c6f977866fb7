package dev.buildhost.monitor.reboot;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;

/**
 * The persisted list of decided reboots ({@code reboots.json}), newest last, at most {@link #KEEP}
 * kept.
 */
public record RebootHistory(List<RebootRecord> reboots) {
  public static final int KEEP = 100;

  public RebootHistory {
    reboots = reboots == null ? List.of() : List.copyOf(reboots);
  }

  /** A reboot that counts against the cap, and how long until it stops counting. */
  public record Counted(Instant time, Duration leavesWindowIn) {}

  /**
   * The reboots decided within {@code window} before now, the first to leave the window first. A
   * record's age is measured on the {@link HostClock} when both it and {@code hostNow} have host
   * time, so no step of the wall clock can shorten it; otherwise on the wall clock, where an entry
   * dated in the future (the clock was stepped back) counts as recent rather than being dropped.
   */
  public List<Counted> within(Instant now, OptionalLong hostNow, Duration window) {
    List<Counted> out = new ArrayList<>();
    for (RebootRecord r : reboots) {
      Instant t;
      try {
        t = Instant.parse(r.time());
      } catch (RuntimeException e) {
        t = null;
      }
      Duration age;
      if (r.hostClock() != null && hostNow.isPresent()) {
        age = Duration.ofMillis(hostNow.getAsLong() - r.hostClock());
      } else if (t != null) {
        age = Duration.between(t, now);
      } else {
        continue; // neither time can be read: it cannot be placed
      }
      if (age.compareTo(window) < 0) {
        out.add(new Counted(t == null ? now.minus(age) : t, window.minus(age)));
      }
    }
    out.sort(Comparator.comparing(Counted::leavesWindowIn));
    return out;
  }

  public RebootHistory plus(RebootRecord r) {
    List<RebootRecord> all = new ArrayList<>(reboots);
    all.add(r);
    while (all.size() > KEEP) {
      all.remove(0);
    }
    return new RebootHistory(all);
  }

  /** The latest host time recorded, or 0. */
  public long latestHostClock() {
    return reboots.stream()
        .filter(r -> r.hostClock() != null)
        .mapToLong(RebootRecord::hostClock)
        .max()
        .orElse(0);
  }
}
