package dev.buildhost.common.threads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ThreadsTest {

  @Test
  void theFactoryMakesNumberedDaemonThreads() throws InterruptedException {
    ThreadFactory factory = Threads.daemonFactory("api");
    StringBuilder ran = new StringBuilder();
    Thread first = factory.newThread(() -> ran.append("ran"));
    Thread second = factory.newThread(() -> {});
    assertEquals("api-1", first.getName());
    assertEquals("api-2", second.getName());
    assertTrue(first.isDaemon() && second.isDaemon());
    first.start();
    first.join();
    assertEquals("ran", ran.toString());
  }

  @Test
  void aCancelledTimerLeavesTheQueueAtOnce() throws Exception {
    ScheduledThreadPoolExecutor timers = Threads.timers("timers");
    try {
      for (int i = 0; i < 1000; i++) {
        ScheduledFuture<?> timeout = timers.schedule(() -> {}, 1, TimeUnit.HOURS);
        timeout.cancel(false);
      }
      assertEquals(0, timers.getQueue().size(), "1000 cancelled one-hour timers");
      StringBuilder thread = new StringBuilder();
      timers.submit(() -> thread.append(Thread.currentThread().getName())).get();
      assertEquals("timers-1", thread.toString());
    } finally {
      timers.shutdownNow();
    }
  }
}
