package dev.buildhost.manager.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.model.EndReason;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One container of an instance: turns the engine's events about it into reports through its {@link
 * GuestReports} (in order, off the event thread; RUNNING comes from the launch when the engine
 * confirms the start first) and carries out the lifecycle's shutdown, kill and release.
 */
final class ContainerGuest implements Guest {

  private static final Logger LOG = LoggerFactory.getLogger(ContainerGuest.class);

  /** How long a launch waits for the engine to attach to the output of its container. */
  private static final Duration CONSOLE_ATTACH = Duration.ofSeconds(10);

  /** How long the end of an instance waits for the last of its output to reach the console log. */
  private static final Duration CONSOLE_DRAIN = Duration.ofSeconds(10);

  private final String instanceId;
  private final String containerId;
  private final DockerConnection engine;
  private final GuestReports reports;
  private final ConsoleCapture console;
  private final ContainerRemovals removals;
  private final Runnable forget;
  private final Runnable afterRemoval;
  private final AtomicBoolean released = new AtomicBoolean();
  private volatile boolean oomKilled;

  ContainerGuest(
      String instanceId,
      String containerId,
      DockerConnection engine,
      GuestListener listener,
      ConsoleCapture console,
      ContainerRemovals removals,
      Runnable forget,
      Runnable afterRemoval,
      Executor executor,
      boolean launching) {
    this.instanceId = instanceId;
    this.containerId = containerId;
    this.engine = engine;
    this.reports =
        launching
            ? GuestReports.forLaunch(listener, executor)
            : new GuestReports(listener, executor);
    this.console = console;
    this.removals = removals;
    this.forget = forget;
    this.afterRemoval = afterRemoval;
  }

  @Override
  public String instanceId() {
    return instanceId;
  }

  /** Opens the console log (before the container starts; see {@link ConsoleCapture}). */
  void openConsole(boolean rewrite) throws IOException {
    console.open(rewrite);
  }

  /** Starts copying the output of a running container into the console log. */
  void followConsole(DockerClient docker) {
    console.follow(docker, containerId);
  }

  /** Attaches to the output of the container before it starts (see {@link ConsoleCapture}). */
  void attachConsole(DockerClient docker) throws BackendException {
    console.attach(docker, containerId, CONSOLE_ATTACH);
  }

  // --- what the engine reports ------------------------------------------------------------------

  /**
   * The engine confirmed the start (its start call returned): reported on the caller's thread,
   * since the queue's thread may take milliseconds to come (see {@link GuestReports#runningNow}).
   */
  void startConfirmed() {
    reports.runningNow();
  }

  void started() {
    reports.running();
  }

  void outOfMemory() {
    oomKilled = true;
  }

  /**
   * The process ended: waits for its last output, then reports its exit code (read from the
   * container, with its OOM flag, unless the event says it exited with 0 and no oom event came).
   */
  void died(Integer exitCodeFromEvent) {
    console.containerEnded(); // at once: the copy may be waiting for it to end
    reports.inOrder(
        () -> {
          if (reports.hasStopped()) {
            return;
          }
          long began = System.nanoTime();
          if (!console.awaitEnd(CONSOLE_DRAIN)) {
            LOG.warn(
                "instance {}: its output was still being copied {} s after it ended",
                instanceId,
                CONSOLE_DRAIN.toSeconds());
          }
          long drained = System.nanoTime();
          Integer exitCode = exitCodeFromEvent;
          boolean oom = oomKilled;
          if (Integer.valueOf(0).equals(exitCode) && !oom) {
            // A clean exit, as the event says, with no OOM event before it (the engine logs a
            // container's oom before its die): all there is to know. An inspect would cost a
            // round trip to the engine (tens of ms on a loaded host) before STOPPED.
            report(exitCode, false, began, drained);
            return;
          }
          try {
            InspectContainerResponse.ContainerState state =
                engine.client().inspectContainerCmd(containerId).exec().getState();
            if (Boolean.TRUE.equals(state.getRunning())) {
              return; // restarted by someone since: its next die event counts
            }
            exitCode =
                state.getExitCodeLong() != null
                    ? Integer.valueOf(state.getExitCodeLong().intValue())
                    : exitCode;
            oom |= Boolean.TRUE.equals(state.getOOMKilled());
          } catch (NotFoundException e) {
            // removed already: the event's exit code is all there is
          } catch (BackendException | RuntimeException e) {
            LOG.warn(
                "instance {}: cannot inspect its container after it ended: {}",
                instanceId,
                e.getMessage());
          }
          report(exitCode, oom, began, drained);
        });
  }

  private void report(Integer exitCode, boolean oom, long began, long drained) {
    LOG.debug(
        "instance {}: its container ended; output drained in {} ms, state read in {} ms",
        instanceId,
        (drained - began) / 1_000_000,
        (System.nanoTime() - drained) / 1_000_000);
    reports.stopped(oom ? EndReason.CRASHED : EndReason.POWEROFF, exitCode);
  }

  /** The container is gone without a die event seen: it was removed behind buildhost's back. */
  void vanished() {
    console.containerEnded();
    reports.stopped(EndReason.CRASHED, null);
  }

  /** Compares with the engine after events may have been missed (a reconnection, an adoption). */
  void resync() {
    reports.inOrder(
        () -> {
          if (reports.hasStopped()) {
            return;
          }
          InspectContainerResponse.ContainerState state;
          try {
            state = engine.client().inspectContainerCmd(containerId).exec().getState();
          } catch (NotFoundException e) {
            vanished();
            return;
          } catch (BackendException | RuntimeException e) {
            LOG.warn("instance {}: cannot inspect its container: {}", instanceId, e.getMessage());
            return;
          }
          if (Boolean.TRUE.equals(state.getRunning())) {
            started();
          } else if (state.getFinishedAt() != null && !state.getFinishedAt().startsWith("0001-")) {
            // Ran and ended while nobody watched: RUNNING first (the lifecycle ignores it if it
            // knew), then the end.
            started();
            died(state.getExitCodeLong() == null ? null : state.getExitCodeLong().intValue());
          }
        });
  }

  // --- what the lifecycle asks
  // --------------------------------------------------------------------

  @Override
  public void shutdown() {
    signal("SIGTERM");
  }

  @Override
  public void kill() {
    signal("SIGKILL");
  }

  private void signal(String signal) {
    try {
      engine.client().killContainerCmd(containerId).withSignal(signal).exec();
    } catch (NotFoundException | ConflictException e) {
      LOG.debug(
          "instance {}: {} not sent: {}", instanceId, signal, DockerConnection.engineMessage(e));
    } catch (BackendException | RuntimeException e) {
      LOG.warn(
          "instance {}: cannot send {} to its container: {}", instanceId, signal, e.getMessage());
    }
  }

  @Override
  public void release() {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    forget.run();
    console.containerEnded(); // by this removal: its events no longer reach this guest
    removals.remove(instanceId, containerId);
    // Its network port goes too: a container the engine has not removed yet loses its network.
    afterRemoval.run();
    // The container is gone, so the copy of its output ends by itself; don't wait long for it.
    console.awaitEnd(Duration.ofSeconds(2));
    console.stop();
  }

  /**
   * Stops watching the container without touching it (the backend closes; the container runs on).
   */
  void detach() {
    console.stop();
  }
}
