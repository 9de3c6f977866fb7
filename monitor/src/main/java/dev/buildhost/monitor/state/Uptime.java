package dev.buildhost.monitor.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Time since the host booted: a clock that no step of the wall clock moves. */
@FunctionalInterface
public interface Uptime {
  Path PROC_UPTIME = Path.of("/proc/uptime");

  /**
   * @throws IOException when it cannot be read
   */
  Duration sinceBoot() throws IOException;

  /** The kernel's {@code /proc/uptime} (CLOCK_BOOTTIME: it counts suspended time too). */
  static Uptime proc() {
    return () -> {
      String first = Files.readString(PROC_UPTIME).strip().split("\\s+")[0];
      try {
        return Duration.ofMillis(Math.round(Double.parseDouble(first) * 1000));
      } catch (NumberFormatException e) {
        throw new IOException(
            PROC_UPTIME + " starts with '" + first + "', not a number of seconds", e);
      }
    };
  }
}
