package dev.buildhost.common.time;

import dev.buildhost.common.threads.Threads;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task after a delay: the instance lifecycle's timers (the timeout, the poweroff grace, the
 * kill watchdog) and the libvirt backend's reconnects run on one. Injected, so that tests drive
 * time by hand instead of sleeping.
 */
public interface Scheduler extends AutoCloseable {

  /** A scheduled task; cancelling one that ran or was cancelled does nothing. */
  @FunctionalInterface
  interface Task {
    void cancel();
  }

  /** Runs {@code task} once {@code delay} has passed (at once for a zero or negative delay). */
  Task schedule(Duration delay, Runnable task);

  /** Drops the tasks not yet run; later schedules are dropped too. */
  @Override
  void close();

  /** A scheduler on one daemon thread of its own, in real time. */
  static Scheduler onThread(String name) {
    ScheduledExecutorService timers = Threads.timers(name);
    return new Scheduler() {
      @Override
      public Task schedule(Duration delay, Runnable task) {
        try {
          ScheduledFuture<?> future =
              timers.schedule(task, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
          return () -> future.cancel(false);
        } catch (RejectedExecutionException e) {
          return () -> {};
        }
      }

      @Override
      public void close() {
        timers.shutdownNow();
      }
    };
  }
}
