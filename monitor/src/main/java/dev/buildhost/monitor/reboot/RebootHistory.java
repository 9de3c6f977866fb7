package dev.buildhost.monitor.reboot;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The persisted list of decided reboots ({@code reboots.json}), newest last, at most {@link #KEEP} kept. */
public record RebootHistory(List<RebootRecord> reboots) {
  public static final int KEEP = 100;

  public RebootHistory {
    reboots = reboots == null ? List.of() : List.copyOf(reboots);
  }

  /** The reboots decided within {@code window} before {@code now}. */
  public List<Instant> within(Instant now, Duration window) {
    Instant from = now.minus(window);
    List<Instant> out = new ArrayList<>();
    for (RebootRecord r : reboots) {
      try {
        Instant t = Instant.parse(r.time());
        if (t.isAfter(from) && !t.isAfter(now.plusSeconds(60))) {
          out.add(t);
        }
      } catch (RuntimeException e) {
        // an unreadable entry does not count
      }
    }
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
}
