package dev.buildhost.common.threads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ThreadFactory;
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
}
