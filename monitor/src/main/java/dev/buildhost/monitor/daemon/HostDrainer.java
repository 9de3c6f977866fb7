package dev.buildhost.monitor.daemon;

import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains the host before a reboot: asks the daemon to start no new instances, then waits until none
 * is STARTING, RUNNING or STOPPING, nor UNKNOWN with a guest that may run ({@link
 * DaemonClient.InstanceInfo#active()}), or the drain timeout passes. Errors are retried until the
 * timeout. A daemon that is not running cannot be drained, but its guests may still run (libvirt
 * and Docker own them): unless its journal shows that no guest can run, that is {@link
 * Outcome#DAEMON_DOWN}, and the caller decides.
 */
public final class HostDrainer {
  private static final Logger LOG = LoggerFactory.getLogger(HostDrainer.class);

  /** How a drain ended. */
  public enum Outcome {
    /** No instance is active any more. */
    DRAINED,
    /** The timeout passed with instances still active or the daemon not answering. */
    TIMED_OUT,
    /** No daemon listens (or none is configured) and its journal shows that no guest can run. */
    NO_DAEMON,
    /**
     * No daemon listens (or none is configured) and its guests may still run: their builds are at
     * stake.
     */
    DAEMON_DOWN
  }

  /** The outcome with a sentence for the log and the notification. */
  public record Result(Outcome outcome, String summary) {}

  /**
   * Finds the daemon's client at the time of the drain (the daemon may have started after the
   * monitor).
   */
  @FunctionalInterface
  public interface Locator {
    /**
     * @return null when no daemon is configured
     */
    DaemonClient locate() throws DaemonException;
  }

  private final Locator locator;
  private final GuestRecords guests;
  private volatile DaemonClient drained;

  public HostDrainer(Locator locator, GuestRecords guests) {
    this.locator = locator;
    this.guests = guests;
  }

  /** The outcome when no daemon answers: NO_DAEMON only when no guest can run. */
  private Result down(String why) {
    String mayRun = guests.whyGuestsMayRun();
    if (mayRun == null) {
      return log(
          new Result(
              Outcome.NO_DAEMON,
              why
                  + "; no guest can run (no instance record in "
                  + guests.journal()
                  + "): nothing to drain"));
    }
    return log(new Result(Outcome.DAEMON_DOWN, why + ", but its guests may still run: " + mayRun));
  }

  public Result drain(Duration timeout, Duration poll) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    String lastError = null;
    DaemonClient c;
    while (true) {
      try {
        c = locator.locate();
        if (c == null) {
          return down("no daemon runs (no daemon_url, no api.json)");
        }
        drained = c;
        c.drain();
        LOG.info("daemon at {} is draining: it starts no new instances", c.base());
        break;
      } catch (DaemonUnreachableException e) {
        return down(e.getMessage());
      } catch (DaemonException e) {
        if (!e.getMessage().equals(lastError)) {
          LOG.warn(
              "asking the daemon to drain failed: {}; trying again until the drain timeout",
              e.getMessage());
          lastError = e.getMessage();
        }
      }
      if (System.nanoTime() >= deadline) {
        return log(
            new Result(
                Outcome.TIMED_OUT,
                "the daemon did not accept the drain within "
                    + timeout.toMillis()
                    + " ms (last error: "
                    + lastError
                    + ")"));
      }
      sleep(poll, deadline);
    }
    String lastActive = null;
    boolean unreachable = false;
    while (true) {
      try {
        List<DaemonClient.InstanceInfo> active =
            c.instances().stream().filter(DaemonClient.InstanceInfo::active).toList();
        if (active.isEmpty()) {
          return log(
              new Result(
                  Outcome.DRAINED,
                  "host drained in "
                      + (System.nanoTime() - start) / 1_000_000
                      + " ms: no instance is running"));
        }
        unreachable = false;
        String now = active.toString();
        if (!now.equals(lastActive)) {
          LOG.info("draining: waiting for {} instance(s): {}", active.size(), now);
          lastActive = now;
        }
      } catch (DaemonException e) {
        unreachable = e instanceof DaemonUnreachableException;
        if (!e.getMessage().equals(lastError)) {
          LOG.warn("listing the daemon's instances failed: {}; trying again", e.getMessage());
          lastError = e.getMessage();
        }
      }
      if (System.nanoTime() >= deadline && unreachable) {
        // It went away while instances ran: they run on without it.
        return down("the daemon stopped answering during the drain (" + lastError + ")");
      }
      if (System.nanoTime() >= deadline) {
        return log(
            new Result(
                Outcome.TIMED_OUT,
                "drain timeout of "
                    + timeout.toMillis()
                    + " ms passed; still active: "
                    + (lastActive == null ? "unknown (" + lastError + ")" : lastActive)));
      }
      sleep(poll, deadline);
    }
  }

  /**
   * Lets the daemon start instances again after a reboot that did not happen; errors are logged.
   */
  public void cancel() {
    DaemonClient c = drained;
    if (c == null) {
      return;
    }
    try {
      c.cancelDrain();
      LOG.info("drain of the daemon at {} cancelled", c.base());
    } catch (DaemonException e) {
      LOG.warn("cancelling the drain failed: {}", e.getMessage());
    }
  }

  private static void sleep(Duration poll, long deadline) throws InterruptedException {
    long left = deadline - System.nanoTime();
    long ms = Math.max(1, Math.min(poll.toMillis(), left / 1_000_000 + 1));
    Thread.sleep(ms);
  }

  private static Result log(Result r) {
    if (r.outcome() == Outcome.TIMED_OUT) {
      LOG.warn("{}; rebooting anyway", r.summary());
    } else if (r.outcome() == Outcome.DAEMON_DOWN) {
      LOG.warn("{}", r.summary());
    } else {
      LOG.info("{}", r.summary());
    }
    return r;
  }
}
