package dev.buildhost.manager.cli;

import dev.buildhost.client.wire.InstanceView;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How times and instances read in tables. */
final class Format {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
  private static final DateTimeFormatter CLOCK =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

  private Format() {}

  static String time(Instant instant) {
    return instant == null ? "-" : TIME.format(instant);
  }

  /** A size for people: 512 B, 3.2 MiB, 1.5 GiB. */
  static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.US, "%.1f %s", value, units[unit]);
  }

  static String clock(Instant instant) {
    return instant == null ? "--:--:--" : CLOCK.format(instant);
  }

  /** 850ms, 5.3s, 2m05s, 1h02m. */
  static String duration(Duration d) {
    if (d == null) {
      return "-";
    }
    long millis = d.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    if (millis < 60_000) {
      return String.format("%.1fs", millis / 1000.0);
    }
    long seconds = d.toSeconds();
    if (seconds < 3600) {
      return String.format("%dm%02ds", seconds / 60, seconds % 60);
    }
    return String.format("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  }

  /** How long the instance ran (so far, when it still runs). */
  static String runtime(InstanceView instance) {
    if (instance.createdAt() == null) {
      return "-";
    }
    Instant end = instance.stoppedAt() != null ? instance.stoppedAt() : Instant.now();
    return duration(Duration.between(instance.createdAt(), end));
  }

  /** STOPPED (POWEROFF, exit 0), RUNNING, UNKNOWN (no guest), ... */
  static String state(InstanceView instance) {
    StringBuilder out = new StringBuilder(String.valueOf(instance.state()));
    if (instance.state() == InstanceView.State.UNKNOWN) {
      return out.append(instance.guestMayRun() ? " (guest may run)" : " (no guest)").toString();
    }
    if (instance.endReason() != null) {
      out.append(" (").append(instance.endReason());
      if (instance.exitCode() != null) {
        out.append(", exit ").append(instance.exitCode());
      }
      out.append(')');
    }
    return out.toString();
  }

  /** Where a stopped instance's disk is kept: the VM's disk file or the container's image id. */
  static String kept(InstanceView instance) {
    InstanceView.Kept kept = instance.kept();
    if (kept == null) {
      return null;
    }
    return kept.disk() != null ? kept.disk() : kept.image();
  }
}
