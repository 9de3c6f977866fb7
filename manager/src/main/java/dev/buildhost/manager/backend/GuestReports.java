package dev.buildhost.manager.backend;

import dev.buildhost.manager.model.EndReason;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a guest's reports are put in order. A backend reports a guest's life through one of
 * these, from any thread (an event loop, a reconnection, the launch); each report reaches the
 * {@link GuestListener} off that thread, in the order it was made, so that a guest that stops right
 * after it starts never has its RUNNING applied after its STOPPED, and so that the listener's work
 * (journal, release) never runs on a backend's event thread.
 *
 * <p>Each report is passed on once: RUNNING at most once, STOPPED at most once, and nothing after
 * STOPPED. Two exceptions keep a start fast and in order:
 *
 * <ul>
 *   <li>The reports of a guest being launched ({@link #forLaunch}) get their RUNNING from the
 *       launch itself: {@link #runningNow()} reports on the caller's thread once the hypervisor or
 *       engine confirmed the start, rather than a thread later; a RUNNING the events bring
 *       meanwhile is dropped. (A STOPPED made during the launch reaches the manager before it has
 *       the guest; the manager keeps it and applies it once the launch returned the guest.)
 *   <li>Work a backend must do before it can report (inspect a container after its end) runs in the
 *       same order through {@link #inOrder}; reports it makes there are passed on at once.
 * </ul>
 */
public final class GuestReports {
  private static final Logger LOG = LoggerFactory.getLogger(GuestReports.class);

  private final GuestListener listener;
  private final Executor executor;
  private CompletableFuture<Void> queue = CompletableFuture.completedFuture(null);

  /** The thread running a task of the queue right now, if any. */
  private volatile Thread inQueue;

  private final AtomicBoolean runningReported = new AtomicBoolean();

  /** Until the launch reports RUNNING itself ({@link #runningNow}). */
  private volatile boolean launching;

  /** Written only by tasks of the queue, which run one at a time. */
  private volatile boolean stopped;

  /** The reports of a guest that runs already (an adopted one). */
  public GuestReports(GuestListener listener, Executor executor) {
    this(listener, executor, false);
  }

  private GuestReports(GuestListener listener, Executor executor, boolean launching) {
    this.listener = listener;
    this.executor = executor;
    this.launching = launching;
  }

  /**
   * The reports of a guest being launched: the launch reports its RUNNING with {@link
   * #runningNow()}.
   */
  public static GuestReports forLaunch(GuestListener listener, Executor executor) {
    return new GuestReports(listener, executor, true);
  }

  /** The guest runs. */
  public void running() {
    report(
        () -> {
          if (!launching) {
            passRunningOn();
          }
        });
  }

  /** The launch saw the guest start: reported on the caller's thread (see the class comment). */
  public void runningNow() {
    passRunningOn();
    launching = false;
  }

  private void passRunningOn() {
    if (!stopped && runningReported.compareAndSet(false, true)) {
      listener.onRunning();
    }
  }

  /** The guest is gone for good; see {@link GuestListener#onStopped}. */
  public void stopped(EndReason reason, Integer exitCode) {
    report(
        () -> {
          if (!stopped) {
            stopped = true;
            listener.onStopped(reason, exitCode);
          }
        });
  }

  /** Whether a STOPPED was passed on: work after it is wasted. */
  public boolean hasStopped() {
    return stopped;
  }

  /** Runs {@code work} after every report and work queued before it, off the caller's thread. */
  public synchronized void inOrder(Runnable work) {
    queue =
        queue
            .thenRunAsync(
                () -> {
                  inQueue = Thread.currentThread();
                  try {
                    work.run();
                  } finally {
                    inQueue = null;
                  }
                },
                executor)
            .exceptionally(
                error -> {
                  LOG.error("a guest report failed, or came after its backend closed", error);
                  return null;
                });
  }

  private void report(Runnable report) {
    if (Thread.currentThread() == inQueue) {
      report.run();
    } else {
      inOrder(report);
    }
  }
}
