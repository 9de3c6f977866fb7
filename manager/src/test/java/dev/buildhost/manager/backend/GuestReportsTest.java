package dev.buildhost.manager.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.buildhost.manager.model.EndReason;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GuestReportsTest {
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<String> heard = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private final GuestListener listener =
      new GuestListener() {
        @Override
        public void onRunning() {
          threads.add(Thread.currentThread());
          heard.add("running");
        }

        @Override
        public void onStopped(EndReason reason, Integer exitCode) {
          threads.add(Thread.currentThread());
          heard.add("stopped " + reason + " " + exitCode);
        }
      };

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  /** Waits until every report queued so far has been passed on. */
  private static void drain(GuestReports reports) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    reports.inOrder(done::countDown);
    if (!done.await(10, TimeUnit.SECONDS)) {
      throw new AssertionError("the queue did not drain");
    }
  }

  @Test
  void reportsArePassedOnInTheirOrderOffTheReportingThread() throws Exception {
    GuestReports reports = new GuestReports(listener, executor);
    CountDownLatch slowStart = new CountDownLatch(1);
    reports.inOrder(
        () -> {
          try {
            slowStart.await(); // an earlier report that takes long must still come first
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    reports.running();
    reports.stopped(EndReason.POWEROFF, 0);
    slowStart.countDown();
    drain(reports);
    assertEquals(List.of("running", "stopped POWEROFF 0"), heard);
    threads.forEach(thread -> assertNotSame(Thread.currentThread(), thread));
  }

  @Test
  void eachReportIsPassedOnOnceAndNothingAfterTheEnd() throws Exception {
    GuestReports reports = new GuestReports(listener, executor);
    reports.running();
    reports.running();
    reports.stopped(EndReason.CRASHED, null);
    reports.stopped(EndReason.POWEROFF, 0);
    reports.running();
    drain(reports);
    reports.runningNow();
    assertEquals(List.of("running", "stopped CRASHED null"), heard);
  }

  @Test
  void aLaunchReportsRunningOnItsOwnThreadAndTheEventsRunningIsDropped() throws Exception {
    GuestReports reports = GuestReports.forLaunch(listener, executor);
    reports.running(); // the start event, seen before the launch's start call returned
    drain(reports);
    assertEquals(List.of(), heard, "the launch reports RUNNING itself");
    reports.runningNow();
    assertEquals(List.of("running"), heard);
    assertSame(Thread.currentThread(), threads.get(0));
    reports.running(); // a late start event
    reports.stopped(EndReason.POWEROFF, 0);
    drain(reports);
    assertEquals(List.of("running", "stopped POWEROFF 0"), heard);
  }

  @Test
  void workInTheQueueReportsAtOnceAheadOfLaterReports() throws Exception {
    GuestReports reports = new GuestReports(listener, executor);
    CountDownLatch inspected = new CountDownLatch(1);
    reports.inOrder(
        () -> {
          try {
            inspected.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          reports.stopped(EndReason.POWEROFF, 3); // what the inspection found
        });
    reports.stopped(EndReason.CRASHED, null); // a later event: the end is reported already
    inspected.countDown();
    drain(reports);
    assertEquals(List.of("stopped POWEROFF 3"), heard);
  }
}
