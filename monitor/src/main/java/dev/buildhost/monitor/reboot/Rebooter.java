package dev.buildhost.monitor.reboot;

import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.daemon.HostDrainer;
import dev.buildhost.monitor.notify.Notifier;
import dev.buildhost.monitor.process.CommandException;
import dev.buildhost.monitor.process.CommandRunner;
import dev.buildhost.monitor.state.StateStore;
import dev.buildhost.monitor.state.Uptime;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
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
 *       daemon undrained. The hour is measured on the {@link HostClock} (uptime summed over boots),
 *       so stepping the wall clock back or forth does not reset the cap.
 *   <li>In a fleet, take a reboot slot ({@link RebootSlot}); while none is free the host keeps
 *       building and the next check asks again. etcd unreachable: no slot, no reboot.
 *   <li>Drain the daemon (up to {@code drain_timeout}); rebooting goes on when it times out. A
 *       daemon that is down while its guests may run makes the reboot wait (nothing recorded, the
 *       next check decides again) unless {@code reboot_when_daemon_down} is set.
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
  private final HostClock hostClock;
  private final RebootSlot slot;

  /** The reason last mailed as waiting for the daemon: mailed once, not at every check. */
  private String waitNotified;

  private final RebootMetricsFile metrics;

  public Rebooter(
      MonitorConfig cfg,
      StateStore store,
      HostDrainer drainer,
      Notifier notifier,
      Clock clock,
      String bootId,
      Uptime uptime,
      RebootSlot slot) {
    this.slot = slot;
    this.hostClock = new HostClock(store, bootId, uptime, () -> history().latestHostClock());
    this.cfg = cfg;
    this.store = store;
    this.drainer = drainer;
    this.notifier = notifier;
    this.clock = clock;
    this.bootId = bootId;
    this.metrics = new RebootMetricsFile(store.dir());
  }

  private RebootHistory history() {
    return store
        .read(store.rebootsFile(), RebootHistory.class)
        .orElse(new RebootHistory(List.of()));
  }

  /** Why a reboot may not happen now, or null if it may. */
  private String refusal(Instant now, OptionalLong hostNow) {
    List<RebootHistory.Counted> recent = history().within(now, hostNow, HOUR);
    int max = cfg.maxRebootsPerHour();
    if (recent.size() < max) {
      return null;
    }
    if (max == 0) {
      return "max_reboots_per_hour is 0: this host never reboots by itself";
    }
    // The cap allows a reboot again once all but max - 1 of the counted ones left the window.
    Instant next = now.plus(recent.get(recent.size() - max).leavesWindowIn());
    return recent.size()
        + " reboot(s) in the last hour (at "
        + recent.stream()
            .map(c -> c.time().truncatedTo(ChronoUnit.SECONDS).toString())
            .sorted()
            .collect(Collectors.joining(", "))
        + ") reach max_reboots_per_hour="
        + max
        + "; the next reboot may happen after "
        + next.truncatedTo(ChronoUnit.SECONDS)
        + " (measured on the host's uptime, which clock steps do not move)";
  }

  /**
   * Brings the host clock's last look up to date (called at every check, so a reboot loses little
   * of it).
   */
  public void tick() {
    hostClock.now();
  }

  /** Writes the reboot counters (zeros at start) for node_exporter's textfile collector. */
  public void publishMetrics() {
    metrics.publish();
  }

  public RebootOutcome reboot(String reason) throws InterruptedException {
    Instant now = clock.instant();
    String refusal = refusal(now, hostClock.now());
    if (refusal != null) {
      String msg = "not rebooting for \"" + reason + "\": " + refusal;
      LOG.warn(msg);
      metrics.refused();
      return new RebootOutcome(RebootOutcome.Kind.REFUSED, msg);
    }
    RebootSlot.Grant grant = slot.take(reason);
    if (!grant.granted()) {
      return new RebootOutcome(RebootOutcome.Kind.WAITING, grant.message());
    }
    LOG.warn("reboot decided: {}", reason);
    HostDrainer.Result drain = drainer.drain(cfg.drainTimeout(), cfg.drainPoll());
    if (drain.outcome() == HostDrainer.Outcome.DAEMON_DOWN) {
      if (!cfg.rebootWhenDaemonDown()) {
        String msg =
            "not rebooting for \""
                + reason
                + "\" while the daemon is down: "
                + drain.summary()
                + "; waiting for the daemon (set reboot_when_daemon_down=true to reboot anyway)";
        LOG.warn(msg);
        drainer.cancel();
        slot.giveBack("the reboot waits for the daemon");
        if (!reason.equals(waitNotified)) {
          notifier.notify("reboot waits for the daemon", msg);
          waitNotified = reason;
        }
        return new RebootOutcome(RebootOutcome.Kind.WAITING, msg);
      }
      LOG.warn("reboot_when_daemon_down is set: rebooting although the daemon is down");
      drain =
          new HostDrainer.Result(
              drain.outcome(), drain.summary() + "; rebooting anyway (reboot_when_daemon_down)");
    }
    if (!slot.rebooting()) {
      String msg =
          "not rebooting for \""
              + reason
              + "\": the host no longer holds its reboot slot, or etcd cannot tell; cancelling the"
              + " drain, the next check asks for a slot again";
      LOG.warn(msg);
      drainer.cancel();
      return new RebootOutcome(RebootOutcome.Kind.WAITING, msg);
    }
    Instant decided = clock.instant();
    notifier.notify(
        "rebooting",
        reason
            + "\n\nDrain: "
            + drain.summary()
            + "\nReboot command: "
            + cfg.rebootCommand()
            + "\nTime: "
            + decided);
    OptionalLong hostDecided = hostClock.now();
    RebootRecord record =
        new RebootRecord(
            decided.toString(),
            reason,
            MonitorConfig.hostName(),
            bootId,
            drain.summary(),
            hostDecided.isPresent() ? hostDecided.getAsLong() : null);
    try {
      store.write(store.lastRebootFile(), record);
      store.write(store.rebootsFile(), history().plus(record));
    } catch (IOException e) {
      // Without the history the rate cap cannot work: do not reboot blind.
      String msg =
          "not rebooting for \"" + reason + "\": cannot record it in " + store.dir() + ": " + e;
      LOG.error(msg);
      drainer.cancel();
      slot.giveBack("the reboot could not be recorded");
      return new RebootOutcome(RebootOutcome.Kind.FAILED, msg);
    }
    metrics.decided();
    try {
      CommandRunner.shell(
          "reboot",
          cfg.rebootCommand(),
          null,
          Map.of("BUILDHOST_REBOOT_REASON", reason),
          cfg.commandTimeout());
    } catch (CommandException e) {
      String msg =
          "reboot command failed: " + e.getMessage() + "; cancelling the drain, will check again";
      LOG.error(msg);
      drainer.cancel();
      slot.giveBack("the reboot command failed");
      notifier.notify("reboot failed", reason + "\n\n" + msg);
      return new RebootOutcome(RebootOutcome.Kind.FAILED, msg);
    }
    String msg = "reboot command ran for \"" + reason + "\"";
    LOG.warn(msg);
    return new RebootOutcome(RebootOutcome.Kind.REBOOTING, msg);
  }
}
