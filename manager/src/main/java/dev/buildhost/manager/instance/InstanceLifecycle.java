package dev.buildhost.manager.instance;

import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.event.EventBus;
import dev.buildhost.manager.journal.Journal;
import dev.buildhost.manager.journal.JournalEntry;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import dev.buildhost.tftp.server.TransferEvent;
import dev.buildhost.tftp.server.TransferListener;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies what happens to an instance through the {@link Lifecycle} rules and carries out the side
 * effects: the journal record, the events, the timers (timeout, poweroff grace, kill watchdog) and
 * the release of the guest and its TFTP port. Every method that changes an instance runs under the
 * instance's lock; backend calls that may be slow run on the executor.
 */
final class InstanceLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceLifecycle.class);

  /** After a kill, how long to wait for the backend to report the end before releasing anyway. */
  static final Duration KILL_WATCHDOG = Duration.ofSeconds(30);

  /**
   * How soon, and at most how rarely, a journal record that could not be written is tried again.
   */
  static final Duration JOURNAL_RETRY_FIRST = Duration.ofSeconds(1);

  static final Duration JOURNAL_RETRY_MAX = Duration.ofMinutes(1);

  private final Duration poweroffGrace;
  private final Journal journal;
  private final EventBus bus;
  private final InstanceTftpServers tftp;
  private final Clock clock;
  private final Scheduler timers;
  private final Executor executor;

  /** Instances whose end is not in their journal record yet: the write is being retried. */
  private final Set<String> unwritten = ConcurrentHashMap.newKeySet();

  private volatile boolean closed;

  InstanceLifecycle(
      Duration poweroffGrace,
      Journal journal,
      EventBus bus,
      InstanceTftpServers tftp,
      Clock clock,
      Scheduler timers,
      Executor executor) {
    this.poweroffGrace = poweroffGrace;
    this.journal = journal;
    this.bus = bus;
    this.tftp = tftp;
    this.clock = clock;
    this.timers = timers;
    this.executor = executor;
  }

  Clock clock() {
    return clock;
  }

  /**
   * The listener a backend reports the instance's guest through (the backend puts its reports in
   * order through {@link dev.buildhost.manager.backend.GuestReports}). Reports that come after the
   * manager closed are dropped: the next daemon reconciles the guest.
   */
  GuestListener listenerFor(TrackedInstance tracked) {
    return new GuestListener() {
      @Override
      public void onRunning() {
        if (!closed) {
          running(tracked);
        }
      }

      @Override
      public void onStopped(EndReason reason, Integer exitCode) {
        if (closed) {
          LOG.debug("manager closed; dropped the end of instance {}", tracked.id());
        } else {
          stopped(tracked, reason, exitCode, null);
        }
      }
    };
  }

  /** From now on, guest reports are dropped (the manager is closing). */
  void close() {
    closed = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Starting

  /** Caller holds the lock. The instance's TFTP server is up: record its port, tell the agents. */
  void launching(TrackedInstance tracked) {
    apply(tracked, new Lifecycle.Report.Launching(tracked.server.port()));
  }

  /**
   * Caller holds the lock. The guest is launched: its timeout starts counting, and what happened
   * during the launch (which runs without the lock) is carried out now: an end the backend
   * reported, or a stop request.
   */
  void launched(TrackedInstance tracked, Guest guest) {
    tracked.guest = guest;
    Runnable reportedEnd = tracked.endReportedWhileLaunching;
    tracked.endReportedWhileLaunching = null;
    if (reportedEnd != null) {
      reportedEnd.run();
      return;
    }
    armTimeout(tracked);
    if (tracked.state() == InstanceState.STOPPING) {
      EndReason requested = tracked.life.requestedReason();
      LOG.info(
          "instance {}: asked to stop while its guest was launched; {} it now",
          tracked.id(),
          requested == null ? "shutting down" : "killing");
      if (requested == null) {
        runLater(guest::shutdown); // the poweroff grace runs since the request
      } else {
        kill(tracked, requested);
      }
    }
  }

  /**
   * Caller holds the lock. A stop request came after the instance was reserved and before anything
   * was set up for it: it ends now, and no guest is launched.
   */
  void endedBeforeLaunch(TrackedInstance tracked) {
    EndReason requested = tracked.life.requestedReason();
    stopped(
        tracked,
        requested == null ? EndReason.POWEROFF : requested,
        null,
        "asked to stop before its guest was launched; none was");
  }

  /**
   * Caller holds the lock. The launch failed: the instance ends as FAILED_TO_START, even when the
   * journal fails.
   */
  void failStart(TrackedInstance tracked, String message) {
    LOG.error("instance {}: failed to start: {}", tracked.id(), message);
    cancelTimers(tracked);
    Guest guest = tracked.guest;
    if (guest != null) {
      // Launched before the failure: no guest may run on untracked.
      try {
        guest.kill();
        guest.release();
      } catch (RuntimeException e) {
        LOG.error(
            "instance {}: cannot end the guest of a failed start: {}",
            tracked.id(),
            e.getMessage(),
            e);
      }
    }
    releaseTftp(tracked);
    Lifecycle.Step failed =
        Lifecycle.apply(tracked.life, new Lifecycle.Report.LaunchFailed(message), clock.instant());
    recordOrRetry(tracked, failed.next());
    publish(failed);
  }

  // ---------------------------------------------------------------------------------------------
  // What the guest reports

  private void running(TrackedInstance tracked) {
    synchronized (tracked) {
      Lifecycle.Step step =
          Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestRunning(), clock.instant());
      if (!step.changed()) {
        return;
      }
      // Published before it is journaled: the agent waits for this event, and the record's fsync
      // costs milliseconds. Losing RUNNING in a crash costs nothing, as reconciliation turns a
      // STARTING record whose guest is alive into RUNNING (and ends it if the guest is gone).
      tracked.life = step.next();
      publish(step);
      LOG.info("instance {}: running", tracked.id());
      record(tracked, step.next());
    }
  }

  /** The guest is gone: release everything but the folders, and record why it ended. */
  void stopped(TrackedInstance tracked, EndReason reported, Integer exitCode, String message) {
    synchronized (tracked) {
      if (tracked.state() == InstanceState.STOPPED) {
        return;
      }
      if (tracked.launching) {
        // The guest is not handed over yet: nothing to release. launched() applies this end.
        String reportedMessage = message;
        tracked.endReportedWhileLaunching =
            () -> stopped(tracked, reported, exitCode, reportedMessage);
        return;
      }
      cancelTimers(tracked);
      message = runEndHook(tracked, reported, exitCode, message);
      releaseTftp(tracked);
      Lifecycle.Step step =
          Lifecycle.apply(
              tracked.life,
              new Lifecycle.Report.GuestEnded(reported, exitCode, message),
              clock.instant());
      recordOrRetry(tracked, step.next());
      LOG.info(
          "instance {}: stopped ({}{})",
          tracked.id(),
          tracked.snapshot().endReason(),
          exitCode == null ? "" : ", exit code " + exitCode);
      publish(step);
      // The guest has ended: what the backend made for it (container, domain, overlay) is removed
      // after STOPPED is out, off the lock, so that an agent reads the result and deletes the
      // instance meanwhile (a container's removal takes the engine 50 to 150 ms). A daemon that
      // dies before the removal finds the guest with a STOPPED record and removes it as an orphan
      // (an overlay as a leftover); a DELETE meanwhile only deletes the folders.
      Guest guest = tracked.guest;
      if (guest != null) {
        runLater(() -> release(tracked, guest));
      }
    }
  }

  private static void release(TrackedInstance tracked, Guest guest) {
    try {
      guest.release();
    } catch (RuntimeException e) {
      LOG.error("instance {}: releasing its guest failed: {}", tracked.id(), e.getMessage(), e);
    }
  }

  /** The instance's end hook, once, before its guest is released; its note joins the message. */
  private static String runEndHook(
      TrackedInstance tracked, EndReason reported, Integer exitCode, String message) {
    EndHook hook = tracked.options.endHook();
    if (hook == null || tracked.spec == null) {
      return message;
    }
    tracked.options = new StartOptions(tracked.options.revision(), tracked.options.layer(), null);
    // A requested end (terminate, timeout) is the reason, whatever the backend saw of it.
    EndReason requested = tracked.life.requestedReason();
    String note;
    try {
      note =
          hook.guestEnded(
              new EndHook.GuestEnd(
                  tracked.spec,
                  requested != null ? requested : reported,
                  exitCode,
                  tracked.tftpDir,
                  tracked.keeper));
    } catch (RuntimeException e) {
      LOG.error("instance {}: its end hook failed: {}", tracked.id(), e.getMessage(), e);
      note = "end hook failed: " + e.getMessage();
    }
    return note == null ? message : message == null ? note : message + "; " + note;
  }

  // ---------------------------------------------------------------------------------------------
  // Stop requests (caller holds the lock)

  /** ACPI shutdown now, kill when the grace period is over. */
  void requestShutdown(TrackedInstance tracked) {
    Lifecycle.Step step =
        Lifecycle.apply(tracked.life, new Lifecycle.Report.PoweroffRequested(), clock.instant());
    if (!step.changed()) {
      return;
    }
    toStopping(tracked, step);
    resumeShutdown(tracked);
  }

  /** Asks the guest of a STOPPING instance to stop, and arms the grace period. */
  void resumeShutdown(TrackedInstance tracked) {
    Guest guest = tracked.guest;
    if (guest != null) {
      runLater(guest::shutdown);
    }
    tracked.graceTask =
        timers.schedule(
            poweroffGrace,
            () -> {
              synchronized (tracked) {
                if (tracked.state() != InstanceState.STOPPED) {
                  LOG.info(
                      "instance {}: still running after the {} poweroff grace; killing it",
                      tracked.id(),
                      poweroffGrace);
                  kill(tracked, EndReason.TERMINATED);
                }
              }
            });
  }

  /** Kills the guest; {@code reason} becomes the end reason unless a request set one already. */
  void kill(TrackedInstance tracked, EndReason reason) {
    if (tracked.state() == InstanceState.STOPPED) {
      return;
    }
    toStopping(
        tracked,
        Lifecycle.apply(tracked.life, new Lifecycle.Report.KillRequested(reason), clock.instant()));
    Guest guest = tracked.guest;
    if (guest != null) {
      runLater(guest::kill);
    }
    // While the guest is being launched there is nothing to kill yet: launched() kills it, and
    // arms the watchdog then (a slow image load must not count against it).
    if (tracked.watchdogTask == null && !tracked.launching) {
      tracked.watchdogTask =
          timers.schedule(
              KILL_WATCHDOG,
              () ->
                  runLater(
                      () ->
                          stopped(
                              tracked,
                              EndReason.TERMINATED,
                              null,
                              "the backend did not report the end of the guest "
                                  + KILL_WATCHDOG.toSeconds()
                                  + " s after it was killed; released anyway")));
    }
  }

  private void toStopping(TrackedInstance tracked, Lifecycle.Step step) {
    if (!step.changed()) {
      return;
    }
    // A stop request is carried out even when the journal cannot record it (a full disk): the
    // guest must not run on because of it. The record catches up when the write works again.
    recordOrRetry(tracked, step.next());
    if (!step.events().isEmpty()) {
      EndReason requested = step.next().requestedReason();
      LOG.info(
          "instance {}: stopping{}",
          tracked.id(),
          requested == null ? " (poweroff)" : " (" + requested + ")");
    }
    publish(step);
  }

  /** Caller holds the lock. Kills the instance at its deadline (at once if it passed). */
  void armTimeout(TrackedInstance tracked) {
    Duration left = Duration.between(clock.instant(), tracked.deadline);
    tracked.timeoutTask =
        timers.schedule(
            left.isNegative() ? Duration.ZERO : left,
            () -> {
              synchronized (tracked) {
                if (tracked.state() != InstanceState.STOPPED) {
                  LOG.info(
                      "instance {}: timed out at {}; killing it", tracked.id(), tracked.deadline);
                  kill(tracked, EndReason.TIMEOUT);
                }
              }
            });
  }

  private static void cancelTimers(TrackedInstance tracked) {
    for (Scheduler.Task task :
        new Scheduler.Task[] {tracked.timeoutTask, tracked.graceTask, tracked.watchdogTask}) {
      if (task != null) {
        task.cancel();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reconciliation (caller holds the lock)

  /**
   * A record whose guest was adopted: a STARTING one runs (its RUNNING was lost with the previous
   * daemon).
   */
  void adopted(TrackedInstance tracked) {
    record(
        tracked,
        Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestRunning(), clock.instant()).next());
  }

  /** Ends an unfinished record whose guest is gone. */
  void endAtReconcile(TrackedInstance tracked, String message) {
    releaseTftp(tracked);
    Lifecycle.Step step =
        Lifecycle.apply(
            tracked.life,
            new Lifecycle.Report.GuestEnded(EndReason.CRASHED, null, message),
            clock.instant());
    record(tracked, step.next());
    LOG.warn(
        "reconcile: instance {} marked STOPPED ({}): {}",
        tracked.id(),
        tracked.snapshot().endReason(),
        message);
    publish(step);
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Stops the instance's TFTP server and frees its port; caller holds the lock of an instance that
   * is ending. The port is freed even without a server (an adopted instance whose server could not
   * be restarted keeps its port held until it ends; a start that failed before its server started
   * holds the port of its prepared launch).
   */
  void releaseTftp(TrackedInstance tracked) {
    int held =
        tracked.snapshot().tftpPort() > 0 ? tracked.snapshot().tftpPort() : tracked.preparedPort;
    if (tracked.server != null) {
      tftp.stop(tracked.server, tracked.server.port());
      tracked.server = null;
    } else if (held > 0) {
      tftp.pool().release(held);
    }
  }

  /** What the instance's TFTP server tells: a completed upload becomes a FILE_UPLOADED event. */
  TransferListener uploads(TrackedInstance tracked) {
    return event -> {
      if (event.kind() == TransferEvent.Kind.COMPLETED && event.upload()) {
        LOG.info(
            "instance {}: uploaded {} ({} bytes)", tracked.id(), event.fileName(), event.bytes());
        publish(InstanceEvent.Kind.FILE_UPLOADED, tracked.snapshot(), event.fileName());
      }
    };
  }

  private void apply(TrackedInstance tracked, Lifecycle.Report report) {
    Lifecycle.Step step = Lifecycle.apply(tracked.life, report, clock.instant());
    if (step.changed()) {
      record(tracked, step.next());
    }
    publish(step);
  }

  /**
   * Records a stop request, or the end of an instance whose guest and port are released already.
   * When the journal cannot be written (a full disk), the instance changes all the same (a STOPPED
   * one frees its capacity and can be deleted), the record is counted as unwritten ({@link
   * #unwrittenRecords()}), and the write is tried again until it succeeds.
   */
  private void recordOrRetry(TrackedInstance tracked, Lifecycle.State next) {
    try {
      record(tracked, next);
    } catch (RuntimeException e) {
      tracked.life = next;
      if (unwritten.add(tracked.id())) {
        LOG.error(
            "instance {}: its journal record cannot be written ({}); trying again",
            tracked.id(),
            e.getMessage());
        retryRecord(tracked, JOURNAL_RETRY_FIRST);
      } // else a retry is under way already, and writes the latest state
    }
  }

  private void retryRecord(TrackedInstance tracked, Duration delay) {
    timers.schedule(
        delay,
        () ->
            runLater(
                () -> {
                  synchronized (tracked) {
                    if (tracked.deleted || !unwritten.contains(tracked.id())) {
                      unwritten.remove(tracked.id()); // deleted, or written meanwhile
                      return;
                    }
                    try {
                      record(tracked, tracked.life);
                      LOG.info("instance {}: its journal record is written at last", tracked.id());
                    } catch (RuntimeException e) {
                      Duration next = delay.multipliedBy(2);
                      retryRecord(
                          tracked,
                          next.compareTo(JOURNAL_RETRY_MAX) > 0 ? JOURNAL_RETRY_MAX : next);
                    }
                  }
                }));
  }

  /** How many instances' records lag behind their state (their write is being retried). */
  int unwrittenRecords() {
    return unwritten.size();
  }

  /** The instance is deleted: its record is gone and is no longer retried. */
  void forget(String id) {
    unwritten.remove(id);
  }

  /** Records the new state: journal first, so what the API shows is what a restart finds. */
  private void record(TrackedInstance tracked, Lifecycle.State next) {
    KeptDisk kept = tracked.kept;
    journal.write(
        new JournalEntry(
            next.instance(),
            tracked.revision,
            tracked.deadline,
            next.requestedReason(),
            tracked.startedFrom,
            tracked.keep,
            kept == null || kept.disk() == null ? null : kept.disk().toString(),
            kept == null ? null : kept.image()));
    tracked.life = next;
    unwritten.remove(tracked.id());
  }

  /** Publishes the events of a step; a STOPPED or FAILED event carries the instance's message. */
  private void publish(Lifecycle.Step step) {
    Instance instance = step.next().instance();
    for (InstanceEvent.Kind kind : step.events()) {
      boolean ended = kind == InstanceEvent.Kind.STOPPED || kind == InstanceEvent.Kind.FAILED;
      publish(kind, instance, ended ? instance.message() : null);
    }
  }

  void publish(InstanceEvent.Kind kind, Instance instance, String detail) {
    bus.publish(new InstanceEvent(kind, clock.instant(), instance, detail));
  }

  void runLater(Runnable task) {
    try {
      executor.execute(logFailures(task));
    } catch (RejectedExecutionException e) {
      LOG.debug("manager closed; dropped a lifecycle task");
    }
  }

  static Runnable logFailures(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        LOG.error("instance lifecycle task failed", e);
      }
    };
  }
}
