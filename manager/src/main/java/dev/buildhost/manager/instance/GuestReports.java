package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.model.EndReason;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a guest's reports are put in order: a backend reports from its own threads (an
 * event loop, the launch), and each report is applied off that thread, in the order the backend
 * made them, so that a guest that stops right after it starts never has its RUNNING applied after
 * its STOPPED. A RUNNING reported during the launch, on the thread that holds the instance's lock,
 * is applied at once rather than a thread later: a report made before it can only be waiting for
 * that lock, and RUNNING goes first anyway.
 */
final class GuestReports implements GuestListener {
  private static final Logger LOG = LoggerFactory.getLogger(GuestReports.class);

  private final Object instanceLock;
  private final Runnable running;
  private final BiConsumer<EndReason, Integer> stopped;
  private final Executor executor;
  private CompletableFuture<Void> pending = CompletableFuture.completedFuture(null);

  GuestReports(Object instanceLock, Runnable running, BiConsumer<EndReason, Integer> stopped, Executor executor) {
    this.instanceLock = instanceLock;
    this.running = running;
    this.stopped = stopped;
    this.executor = executor;
  }

  @Override
  public void onRunning() {
    if (Thread.holdsLock(instanceLock)) {
      running.run();
    } else {
      inOrder(running);
    }
  }

  @Override
  public void onStopped(EndReason reason, Integer exitCode) {
    inOrder(() -> stopped.accept(reason, exitCode));
  }

  private synchronized void inOrder(Runnable report) {
    pending = pending.thenRunAsync(InstanceLifecycle.logFailures(report), executor).exceptionally(e -> {
      LOG.debug("manager closed; dropped a guest report");
      return null;
    });
  }
}
