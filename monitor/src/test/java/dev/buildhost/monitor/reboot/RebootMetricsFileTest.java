package dev.buildhost.monitor.reboot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.TestConfigs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reboot counters node_exporter's textfile collector reads: written with zeros when the monitor
 * starts, counted up by a real monitor whose reboot the rate cap refuses, and by one that reboots
 * (a real script stands in for the reboot command).
 */
class RebootMetricsFileTest {
  @TempDir Path tmp;

  static List<String> samples(Path file) throws Exception {
    return Files.readAllLines(file).stream().filter(l -> !l.startsWith("#")).toList();
  }

  @Test
  void aStartedMonitorPublishesZerosThenCountsARefusedAndADecidedReboot() throws Exception {
    try (FileServer server = new FileServer()) {
      server.put("/os/buildos-buildid", "buildos-A\n");
      Path bootId = Files.writeString(tmp.resolve("boot_id"), "boot-1\n");
      Path rebootLog = tmp.resolve("reboots.log");
      MonitorConfig capped =
          TestConfigs.config(
              tmp,
              Map.of(
                  Setting.BUILDID_URL,
                  server.url("/os/buildos-buildid").toString(),
                  Setting.MAX_REBOOTS_PER_HOUR,
                  "0"));
      Path file = capped.monitorStateDir().resolve(RebootMetricsFile.FILE_NAME);

      Monitor refusing = new Monitor(capped, Clock.systemUTC(), bootId, ProgressListener.NONE);
      refusing.start();
      assertTrue(refusing.prepare());
      assertEquals(
          List.of("buildhost_monitor_reboots_total 0", "buildhost_monitor_reboots_refused_total 0"),
          samples(file),
          "zeros at start, so that the first refusal is an increase");
      server.put("/os/buildos-buildid", "buildos-B\n");
      assertEquals(Monitor.Status.REFUSED, refusing.check().status());
      assertEquals(
          List.of("buildhost_monitor_reboots_total 0", "buildhost_monitor_reboots_refused_total 1"),
          samples(file));

      MonitorConfig allowed =
          TestConfigs.config(
              tmp,
              Map.of(
                  Setting.BUILDID_URL, server.url("/os/buildos-buildid").toString(),
                  Setting.REBOOT_COMMAND, TestConfigs.rebootScript(tmp, rebootLog)));
      server.put("/os/buildos-buildid", "buildos-A\n");
      Monitor rebooting =
          new Monitor(
              allowed,
              Clock.systemUTC(),
              Files.writeString(bootId, "boot-2\n"),
              ProgressListener.NONE);
      rebooting.start();
      assertTrue(rebooting.prepare());
      server.put("/os/buildos-buildid", "buildos-C\n");
      assertEquals(Monitor.Status.REBOOTING, rebooting.check().status());
      assertEquals(1, TestConfigs.rebootLog(rebootLog).size());
      assertEquals(
          List.of("buildhost_monitor_reboots_total 1", "buildhost_monitor_reboots_refused_total 0"),
          samples(file),
          "a restarted monitor counts from zero (Prometheus sees a counter reset)");
      refusing.close();
      rebooting.close();
    }
  }
}
