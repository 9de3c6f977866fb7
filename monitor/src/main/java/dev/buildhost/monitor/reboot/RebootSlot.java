package dev.buildhost.monitor.reboot;

import dev.buildhost.fleet.FleetException;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.fleet.reboot.SlotHolder;
import dev.buildhost.fleet.reboot.SlotRequest;
import dev.buildhost.monitor.notify.Notifier;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's reboot slot in its fleet (doc/fleet.md, "Reboots"): taken before the drain, held
 * through the drain and the reboot, given back once the host is up again under a new boot id with
 * its daemon answering and its toolchains bootstrapped. A host in no fleet needs no slot. etcd
 * unreachable means no slot, so no reboot: a host never reboots without one.
 */
public final class RebootSlot {
  private static final Logger LOG = LoggerFactory.getLogger(RebootSlot.class);

  /** Whether the reboot may go on, with the sentence logged when it may not. */
  public record Grant(boolean granted, String message) {}

  private final RebootSemaphore semaphore;
  private final String host;
  private final String bootId;
  private final Notifier notifier;
  private final Duration drainTimeout;

  /** Whether this monitor recorded the host as waiting (so it withdraws the record). */
  private boolean waiting;

  /**
   * @param semaphore the fleet's slots, or null when the host is in no fleet
   */
  public RebootSlot(
      RebootSemaphore semaphore,
      String host,
      String bootId,
      Duration drainTimeout,
      Notifier notifier) {
    this.semaphore = semaphore;
    this.drainTimeout = drainTimeout;
    this.host = host;
    this.bootId = bootId;
    this.notifier = notifier;
  }

  /** Takes a slot for {@code reason}, or records the host as waiting (it goes on building). */
  public Grant take(String reason) {
    if (semaphore == null) {
      return new Grant(true, "no fleet: no reboot slot needed");
    }
    SlotRequest r;
    try {
      r = semaphore.request(host, bootId == null ? "unknown" : bootId, reason, drainTimeout);
    } catch (FleetException e) {
      String msg =
          "not rebooting for \""
              + reason
              + "\": the fleet's reboot slots are unknown ("
              + e.getMessage()
              + "); the host goes on building and the next check asks again";
      LOG.warn(msg);
      return new Grant(false, msg);
    }
    for (SlotHolder h : r.freed()) {
      String msg =
          "reboot slot of host "
              + h.host()
              + " freed: it took it at "
              + h.since()
              + (h.rebooting() == null
                  ? " and was to drain until " + h.drainUntil()
                  : ", ran its reboot command at " + h.rebooting())
              + " for \""
              + h.reason()
              + "\", and has not come back within fleet_slot_timeout ("
              + semaphore.slotTimeout().toMillis()
              + " ms); look at that host";
      LOG.warn(msg);
      notifier.notify("reboot slot of " + h.host() + " freed", msg);
    }
    if (r.granted()) {
      waiting = false;
      LOG.info("reboot slot taken for \"{}\" (holders now: {})", reason, names(r));
      return new Grant(true, "reboot slot taken");
    }
    waiting = true;
    String msg =
        "waiting for a reboot slot for \""
            + reason
            + "\": held by "
            + names(r)
            + (r.ahead() == 0 ? "" : ", " + r.ahead() + " host(s) waiting before this one")
            + "; the host goes on building and the next check asks again";
    LOG.info(msg);
    return new Grant(false, msg);
  }

  private static String names(SlotRequest r) {
    return r.holders().isEmpty()
        ? "nobody"
        : r.holders().stream()
            .map(h -> h.host() + " (since " + h.since() + ")")
            .collect(Collectors.joining(", "));
  }

  /**
   * Records that the reboot command runs now.
   *
   * @return false when the host no longer holds its slot or etcd cannot tell: no reboot then
   */
  public boolean rebooting() {
    if (semaphore == null) {
      return true;
    }
    try {
      if (semaphore.rebooting(host)) {
        return true;
      }
      LOG.warn("the reboot slot was freed while the host drained (fleet_slot_timeout passed)");
      return false;
    } catch (FleetException e) {
      LOG.warn("cannot record the reboot in the fleet's slots: {}", e.getMessage());
      return false;
    }
  }

  /** Gives the slot back after a reboot that did not happen; errors are logged. */
  public void giveBack(String why) {
    if (semaphore == null) {
      return;
    }
    try {
      semaphore.release(host).ifPresent(h -> LOG.info("reboot slot given back ({})", why));
    } catch (FleetException e) {
      LOG.warn(
          "cannot give the reboot slot back ({}): {}; it is freed after fleet_slot_timeout",
          why,
          e.getMessage());
    }
  }

  /**
   * Called at every check: a slot this host took in an earlier boot is given back once {@code
   * ready} (its daemon answers, its toolchains are bootstrapped); with {@code wanted} false (no
   * reason to reboot), a slot taken in this boot and a waiting record are given back too.
   */
  public void settle(boolean wanted, BooleanSupplier ready) {
    if (semaphore == null) {
      return;
    }
    try {
      Optional<SlotHolder> held =
          semaphore.read().holders().stream().filter(h -> h.host().equals(host)).findFirst();
      if (held.isPresent() && !held.get().bootId().equals(bootId)) {
        if (ready.getAsBoolean()) {
          semaphore.release(host);
          LOG.info(
              "back after the reboot for \"{}\" (boot id {} -> {}): reboot slot given back",
              held.get().reason(),
              held.get().bootId(),
              bootId);
        } else {
          LOG.info(
              "holding the reboot slot of the last boot until the daemon answers and every"
                  + " toolchain is bootstrapped");
        }
      } else if (held.isPresent() && !wanted) {
        semaphore.release(host);
        LOG.info("no reason to reboot any more: reboot slot given back");
      }
      if (!wanted && waiting) {
        semaphore.withdraw(host);
        waiting = false;
        LOG.info("no reason to reboot any more: no longer waiting for a reboot slot");
      }
    } catch (FleetException e) {
      LOG.warn("the fleet's reboot slots are unknown: {}", e.getMessage());
    }
  }
}
