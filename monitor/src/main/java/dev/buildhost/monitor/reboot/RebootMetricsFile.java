package dev.buildhost.monitor.reboot;

import dev.buildhost.common.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's reboot counters as a Prometheus text file, for node_exporter's textfile collector
 * (the monitor serves no HTTP itself): {@code <state_dir>/monitor/buildhost-monitor.prom}. It is
 * written at start with zeros, so that the first refusal is an increase Prometheus can see, and
 * again after every decided or refused reboot. The counters count since the monitor started
 * (Prometheus handles the reset of a restart). A failed write is logged and never stops a reboot.
 */
public final class RebootMetricsFile {
  public static final String FILE_NAME = "buildhost-monitor.prom";
  private static final Logger LOG = LoggerFactory.getLogger(RebootMetricsFile.class);

  private final Path file;
  private long decided;
  private long refused;

  public RebootMetricsFile(Path dir) {
    this.file = dir.resolve(FILE_NAME);
  }

  public Path file() {
    return file;
  }

  /** Writes the current counters (zeros at start). */
  public synchronized void publish() {
    try {
      AtomicFiles.write(file, render(decided, refused).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      LOG.warn("cannot write the reboot metrics to {}: {}", file, e.toString());
    }
  }

  public synchronized void decided() {
    decided++;
    publish();
  }

  public synchronized void refused() {
    refused++;
    publish();
  }

  /** The exposition text for the given counts. */
  public static String render(long decided, long refused) {
    return "# HELP buildhost_monitor_reboots_total Reboots the monitor decided since it started.\n"
        + "# TYPE buildhost_monitor_reboots_total counter\n"
        + "buildhost_monitor_reboots_total "
        + decided
        + "\n"
        + "# HELP buildhost_monitor_reboots_refused_total Reboots the rate cap (max_reboots_per_hour)"
        + " refused since the monitor started.\n"
        + "# TYPE buildhost_monitor_reboots_refused_total counter\n"
        + "buildhost_monitor_reboots_refused_total "
        + refused
        + "\n";
  }
}
