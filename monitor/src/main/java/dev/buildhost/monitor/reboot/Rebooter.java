package dev.buildhost.monitor.reboot;

import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.daemon.HostDrainer;
import dev.buildhost.monitor.notify.Notifier;
import dev.buildhost.monitor.process.CommandException;
import dev.buildhost.monitor.process.CommandRunner;
import dev.buildhost.monitor.state.StateStore;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out a decided reboot: rate cap, drain, notify, persist, and run the reboot command
 * exactly once.
 *
 * <ol>
 *   <li>Refuse when {@code max_reboots_per_hour} reboots were already decided in the last hour
 *       (history in {@code reboots.json}); this is checked first, so a refused reboot leaves the
 *       daemon undrained.
 *   <li>Drain the daemon (up to {@code drain_timeout}); rebooting goes on when it times out.
 *   <li>Notify (log, email).
 *   <li>Persist the reason and time ({@code last-reboot.json}, {@code reboots.json}) atomically,
 *       before the command runs, so a reboot loop is caught even if the command kills us.
 *   <li>Run {@code reboot_command} once, with {@code BUILDHOST_REBOOT_REASON} in its environment.
 *       If it fails, the drain is cancelled so the host builds again; the next check may decide
 *       again (and counts against the cap).
 * </ol>
 */
public final class Rebooter {
  private static final Logger LOG = LoggerFactory.getLogger(Rebooter.class);
  private static final Duration HOUR = Duration.ofHours(1);

  private final MonitorConfig cfg;
  private final StateStore store;
  private final HostDrainer drainer;
  private final Notifier notifier;
  private final Clock clock;
  private final String bootId;
  private final RebootMetricsFile metrics;

  public Rebooter(MonitorConfig cfg, StateStore store, HostDrainer drainer, Notifier notifier, Clock clock,
      String bootId) {
    this.cfg = cfg;
    this.store = store;
    this.drainer = drainer;
    this.notifier = notifier;
    this.clock = clock;
    this.bootId = bootId;
    this.metrics = new RebootMetricsFile(store.dir());
  }

  private RebootHistory history() {
    return store.read(store.rebootsFile(), RebootHistory.class).orElse(new RebootHistory(List.of()));
  }

  /** Why a reboot may not happen now, or null if it may. */
  private String refusal(Instant now) {
    List<Instant> recent = history().within(now, HOUR);
    if (recent.size() < cfg.maxRebootsPerHour()) {
      return null;
    }
    if (cfg.maxRebootsPerHour() == 0) {
      return "max_reboots_per_hour is 0: this host never reboots by itself";
    }
    Instant next = recent.stream().min(Instant::compareTo).orElse(now).plus(HOUR);
    return recent.size() + " reboot(s) in the last hour (at "
        + recent.stream().map(t -> t.truncatedTo(ChronoUnit.SECONDS).toString()).collect(Collectors.joining(", "))
        + ") reach max_reboots_per_hour=" + cfg.maxRebootsPerHour() + "; the next reboot may happen after "
        + next.truncatedTo(ChronoUnit.SECONDS);
  }

  /** Writes the reboot counters (zeros at start) for node_exporter's textfile collector. */
  public void publishMetrics() {
    metrics.publish();
  }

  public RebootOutcome reboot(String reason) throws InterruptedException {
    Instant now = clock.instant();
    String refusal = refusal(now);
    if (refusal != null) {
      String msg = "not rebooting for \"" + reason + "\": " + refusal;
      LOG.warn(msg);
      metrics.refused();
      return new RebootOutcome(RebootOutcome.Kind.REFUSED, msg);
    }
    LOG.warn("reboot decided: {}", reason);
    HostDrainer.Result drain = drainer.drain(cfg.drainTimeout(), cfg.drainPoll());
    Instant decided = clock.instant();
    notifier.notify("rebooting", reason + "\n\nDrain: " + drain.summary() + "\nReboot command: "
        + cfg.rebootCommand() + "\nTime: " + decided);
    RebootRecord record = new RebootRecord(decided.toString(), reason, MonitorConfig.hostName(), bootId,
        drain.summary());
    try {
      store.write(store.lastRebootFile(), record);
      store.write(store.rebootsFile(), history().plus(record));
    } catch (IOException e) {
      // Without the history the rate cap cannot work: do not reboot blind.
      String msg = "not rebooting for \"" + reason + "\": cannot record it in " + store.dir() + ": " + e;
      LOG.error(msg);
      drainer.cancel();
      return new RebootOutcome(RebootOutcome.Kind.FAILED, msg);
    }
    metrics.decided();
    try {
      CommandRunner.shell("reboot", cfg.rebootCommand(), null, Map.of("BUILDHOST_REBOOT_REASON", reason),
          cfg.commandTimeout());
    } catch (CommandException e) {
      String msg = "reboot command failed: " + e.getMessage() + "; cancelling the drain, will check again";
      LOG.error(msg);
      drainer.cancel();
      notifier.notify("reboot failed", reason + "\n\n" + msg);
      return new RebootOutcome(RebootOutcome.Kind.FAILED, msg);
    }
    String msg = "reboot command ran for \"" + reason + "\"";
    LOG.warn(msg);
    return new RebootOutcome(RebootOutcome.Kind.REBOOTING, msg);
  }
}
