package dev.buildhost.manager.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.InstanceEvent.Kind;
import dev.buildhost.manager.model.Lifecycle.Report;
import dev.buildhost.manager.model.Lifecycle.State;
import dev.buildhost.manager.model.Lifecycle.Step;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every report against every state and requested end reason: the rules, without threads or clocks.
 */
class LifecycleTest {
  private static final Instant CREATED = Instant.parse("2026-01-01T10:00:00Z");
  private static final Instant RUNNING_AT = Instant.parse("2026-01-01T10:00:05Z");
  private static final Instant STOPPED_AT = Instant.parse("2026-01-01T10:00:08Z");
  private static final Instant NOW = Instant.parse("2026-01-01T10:01:00Z");

  /** A snapshot in {@code state} with the fields an instance in that state has. */
  private static Instance instance(InstanceState state) {
    Instance starting =
        Instance.starting("m-20260101-100000-abcd", "m", "1.0", MachineType.DOCKER, CREATED)
            .withTftpPort(10000);
    return switch (state) {
      case STARTING -> starting;
      case RUNNING -> starting.running(RUNNING_AT);
      case STOPPING -> starting.running(RUNNING_AT).stopping();
      case STOPPED -> starting.running(RUNNING_AT).stopped(EndReason.POWEROFF, 0, STOPPED_AT, null);
      case UNKNOWN ->
          Instance.unknown(
              "m-20260101-100000-abcd",
              "m",
              null,
              MachineType.DOCKER,
              10000,
              CREATED,
              null,
              "its journal record cannot be read");
    };
  }

  private static List<Report> reports() {
    List<Report> reports = new ArrayList<>();
    reports.add(new Report.Launching(10001));
    reports.add(new Report.LaunchFailed("no image"));
    reports.add(new Report.GuestRunning());
    reports.add(new Report.PoweroffRequested());
    for (EndReason reason : EndReason.values()) {
      reports.add(new Report.GuestEnded(reason, 3, "gone"));
      reports.add(new Report.KillRequested(reason));
    }
    return reports;
  }

  /** Every state, every requested reason (none, or one a request sets), every report. */
  static Stream<Arguments> everyCase() {
    List<Arguments> cases = new ArrayList<>();
    List<EndReason> requested = new ArrayList<>(Arrays.asList((EndReason) null));
    requested.add(EndReason.TERMINATED);
    requested.add(EndReason.TIMEOUT);
    for (InstanceState state : InstanceState.values()) {
      for (EndReason reason : requested) {
        if (reason != null && state != InstanceState.STOPPING && state != InstanceState.STOPPED) {
          continue; // only a stop request sets a requested reason, and it makes the instance
          // STOPPING
        }
        for (Report report : reports()) {
          cases.add(Arguments.of(state, reason, report));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} (requested {1}) + {2}")
  @MethodSource("everyCase")
  void eachReportFollowsTheRules(InstanceState from, EndReason requested, Report report) {
    State current = new State(instance(from), requested);
    Step step = Lifecycle.apply(current, report, NOW);
    Instance before = current.instance();
    Instance after = step.next().instance();

    if (from == InstanceState.STOPPED) {
      assertUnchanged(current, step, "STOPPED is final");
      return;
    }
    if (from == InstanceState.UNKNOWN) {
      assertUnchanged(current, step, "UNKNOWN is outside the rules");
      return;
    }
    if (report instanceof Report.Launching launching) {
      if (from == InstanceState.STARTING) {
        assertEquals(before.withTftpPort(launching.tftpPort()), after);
        assertEquals(List.of(Kind.CREATED), step.events());
        assertTrue(step.changed());
      } else {
        assertUnchanged(current, step, "only a starting instance gets its port");
      }
    } else if (report instanceof Report.LaunchFailed failed) {
      assertEquals(InstanceState.STOPPED, after.state());
      assertEquals(EndReason.FAILED_TO_START, after.endReason());
      assertEquals(failed.message(), after.message());
      assertEquals(NOW, after.stoppedAt());
      assertEquals(List.of(Kind.FAILED, Kind.STOPPED), step.events());
    } else if (report instanceof Report.GuestRunning) {
      if (from == InstanceState.STARTING) {
        assertEquals(InstanceState.RUNNING, after.state());
        assertEquals(NOW, after.runningAt());
        assertEquals(List.of(Kind.RUNNING), step.events());
      } else {
        assertUnchanged(current, step, "RUNNING comes only after STARTING");
      }
    } else if (report instanceof Report.GuestEnded ended) {
      assertEquals(InstanceState.STOPPED, after.state());
      assertEquals(
          requested != null ? requested : ended.reason(),
          after.endReason(),
          "a requested end reason beats the reported one");
      assertEquals(ended.exitCode(), after.exitCode());
      assertEquals(ended.message(), after.message());
      assertEquals(NOW, after.stoppedAt());
      assertEquals(before.runningAt(), after.runningAt());
      assertEquals(List.of(Kind.STOPPED), step.events());
    } else if (report instanceof Report.PoweroffRequested) {
      if (from == InstanceState.STOPPING) {
        assertUnchanged(current, step, "a poweroff does not restart a stop under way");
      } else {
        assertEquals(before.stopping(), after);
        assertNull(step.next().requestedReason(), "a poweroff leaves the end reason to the guest");
        assertEquals(List.of(Kind.STOPPING), step.events());
      }
    } else if (report instanceof Report.KillRequested kill) {
      EndReason expected = requested != null ? requested : kill.reason();
      assertEquals(
          expected, step.next().requestedReason(), "the first request decides the end reason");
      assertEquals(InstanceState.STOPPING, after.state());
      assertEquals(
          from == InstanceState.STOPPING ? List.of() : List.of(Kind.STOPPING), step.events());
      assertEquals(from != InstanceState.STOPPING || requested == null, step.changed());
    }
    assertEquals(before.id(), after.id());
    assertEquals(before.createdAt(), after.createdAt());
    if (!(report instanceof Report.Launching)) {
      assertEquals(before.tftpPort(), after.tftpPort(), "only the launch sets the port");
    }
  }

  private static void assertUnchanged(State current, Step step, String rule) {
    assertSame(current, step.next(), rule);
    assertFalse(step.changed(), rule);
    assertEquals(List.of(), step.events(), rule);
  }

  @Test
  void aTimeoutThenTheGuestsOwnPoweroffEndsAsTimeout() {
    State state = new State(instance(InstanceState.RUNNING), null);
    state = Lifecycle.apply(state, new Report.KillRequested(EndReason.TIMEOUT), NOW).next();
    state = Lifecycle.apply(state, new Report.KillRequested(EndReason.TERMINATED), NOW).next();
    Step end = Lifecycle.apply(state, new Report.GuestEnded(EndReason.POWEROFF, 0, null), NOW);
    assertEquals(EndReason.TIMEOUT, end.next().instance().endReason());
  }

  @Test
  void aPoweroffThenTheGraceRunningOutEndsAsTerminated() {
    State state = new State(instance(InstanceState.RUNNING), null);
    state = Lifecycle.apply(state, new Report.PoweroffRequested(), NOW).next();
    state = Lifecycle.apply(state, new Report.KillRequested(EndReason.TERMINATED), NOW).next();
    Step end = Lifecycle.apply(state, new Report.GuestEnded(EndReason.CRASHED, null, null), NOW);
    assertEquals(EndReason.TERMINATED, end.next().instance().endReason());
  }

  @Test
  void aPoweroffTheGuestObeysEndsAsPoweroff() {
    State state = new State(instance(InstanceState.RUNNING), null);
    state = Lifecycle.apply(state, new Report.PoweroffRequested(), NOW).next();
    Step end = Lifecycle.apply(state, new Report.GuestEnded(EndReason.POWEROFF, 0, null), NOW);
    assertEquals(EndReason.POWEROFF, end.next().instance().endReason());
    assertEquals(0, end.next().instance().exitCode());
  }

  @Test
  void aGuestThatEndsBeforeItsRunningReportStaysStopped() {
    State state = new State(instance(InstanceState.STARTING), null);
    state = Lifecycle.apply(state, new Report.GuestEnded(EndReason.POWEROFF, 0, null), NOW).next();
    Step late = Lifecycle.apply(state, new Report.GuestRunning(), NOW);
    assertFalse(late.changed());
    assertEquals(InstanceState.STOPPED, late.next().state());
    assertNull(late.next().instance().runningAt());
  }
}
