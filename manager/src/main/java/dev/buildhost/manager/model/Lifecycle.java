package dev.buildhost.manager.model;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The rules of an instance's life, as one pure function from its state and a report to its next
 * state and the events that tell of the change. Whoever applies reports (the manager, under the
 * instance's lock) only carries out the side effects; the rules live here, once:
 *
 * <ul>
 *   <li>STOPPED is final: no report changes a stopped instance.
 *   <li>UNKNOWN (an instance whose journal record cannot be read) is outside these rules: no report
 *       changes it; only the operator's terminate and delete act on it.
 *   <li>A requested end reason beats the reported one: once a terminate or a timeout decided why
 *       the instance ends, the guest's own report of its end (a POWEROFF, a CRASHED) does not
 *       change it. The first request decides; a later one does not overwrite it.
 *   <li>RUNNING comes only after STARTING: a late "running" report after a stop is ignored.
 *   <li>A poweroff request on a stopping instance changes nothing (a kill may follow it).
 * </ul>
 */
public final class Lifecycle {

  private Lifecycle() {}

  /**
   * What the rules look at: the snapshot, and the end reason a stop request already chose (null
   * while nobody asked the instance to stop, or only asked it to power off).
   */
  public record State(Instance instance, EndReason requestedReason) {
    public State {
      Objects.requireNonNull(instance, "instance");
    }

    public InstanceState state() {
      return instance.state();
    }
  }

  /** What can happen to an instance. */
  public sealed interface Report {
    /**
     * The TFTP server of a starting instance listens on {@code tftpPort}; its guest is launched
     * next.
     */
    record Launching(int tftpPort) implements Report {}

    /** The start failed before the guest ran (the launch threw). */
    record LaunchFailed(String message) implements Report {}

    /** The backend reports the guest running (or reconciliation found it alive). */
    record GuestRunning() implements Report {}

    /**
     * The guest is gone: the backend reported its end ({@code POWEROFF}, {@code CRASHED}), or the
     * manager gave up waiting for that report, or reconciliation found the guest gone.
     */
    record GuestEnded(EndReason reason, Integer exitCode, String message) implements Report {
      public GuestEnded {
        Objects.requireNonNull(reason, "reason");
      }
    }

    /** Someone asked for a clean stop (ACPI shutdown, SIGTERM). */
    record PoweroffRequested() implements Report {}

    /**
     * The guest is to be killed, for {@code reason}: TERMINATED (terminate, or the poweroff grace
     * ran out) or TIMEOUT.
     */
    record KillRequested(EndReason reason) implements Report {
      public KillRequested {
        Objects.requireNonNull(reason, "reason");
      }
    }
  }

  /**
   * The outcome of one report.
   *
   * @param next the state after the report (the same object when nothing changed)
   * @param changed whether anything changed, i.e. whether the new state must be recorded
   * @param events the events to publish, in order (empty when nothing visible changed)
   */
  public record Step(State next, boolean changed, List<InstanceEvent.Kind> events) {
    public Step {
      events = List.copyOf(events);
    }

    static Step unchanged(State state) {
      return new Step(state, false, List.of());
    }
  }

  /** The next state of {@code current} after {@code report}, at time {@code now}. */
  public static Step apply(State current, Report report, Instant now) {
    Instance instance = current.instance();
    InstanceState state = instance.state();
    if (state == InstanceState.STOPPED || state == InstanceState.UNKNOWN) {
      return Step.unchanged(current);
    }
    EndReason requested = current.requestedReason();
    if (report instanceof Report.Launching launching) {
      if (state != InstanceState.STARTING) {
        return Step.unchanged(current);
      }
      return new Step(
          new State(instance.withTftpPort(launching.tftpPort()), requested),
          true,
          List.of(InstanceEvent.Kind.CREATED));
    }
    if (report instanceof Report.LaunchFailed failed) {
      return new Step(
          new State(
              instance.stopped(EndReason.FAILED_TO_START, null, now, failed.message()), requested),
          true,
          List.of(InstanceEvent.Kind.FAILED, InstanceEvent.Kind.STOPPED));
    }
    if (report instanceof Report.GuestRunning) {
      if (state != InstanceState.STARTING) {
        return Step.unchanged(current);
      }
      return new Step(
          new State(instance.running(now), requested), true, List.of(InstanceEvent.Kind.RUNNING));
    }
    if (report instanceof Report.GuestEnded ended) {
      EndReason reason = requested != null ? requested : ended.reason();
      return new Step(
          new State(instance.stopped(reason, ended.exitCode(), now, ended.message()), requested),
          true,
          List.of(InstanceEvent.Kind.STOPPED));
    }
    if (report instanceof Report.PoweroffRequested) {
      if (state == InstanceState.STOPPING) {
        return Step.unchanged(current);
      }
      return new Step(
          new State(instance.stopping(), requested), true, List.of(InstanceEvent.Kind.STOPPING));
    }
    if (report instanceof Report.KillRequested kill) {
      EndReason reason = requested != null ? requested : kill.reason();
      if (state == InstanceState.STOPPING) {
        return reason == requested
            ? Step.unchanged(current)
            : new Step(new State(instance, reason), true, List.of());
      }
      return new Step(
          new State(instance.stopping(), reason), true, List.of(InstanceEvent.Kind.STOPPING));
    }
    throw new IllegalArgumentException("unknown report " + report);
  }
}
