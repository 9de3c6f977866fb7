package dev.buildhost.common.threads;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** The thread factory every module built by hand: named, numbered daemon threads. */
public final class Threads {

  private Threads() {}

  /**
   * Daemon threads named {@code <prefix>-1}, {@code <prefix>-2}, ...: a thread dump tells whose
   * they are, and none of them keeps the JVM alive after main returns.
   */
  public static ThreadFactory daemonFactory(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> daemon(prefix + "-" + count.incrementAndGet(), runnable);
  }

  /**
   * A timer thread, daemon, named {@code <name>-1}. A cancelled task leaves its queue at once: the
   * daemon cancels most of what it schedules (an instance's timeout, a connection's header
   * deadline), and the JDK's default keeps each cancelled task until its delay runs out.
   */
  public static ScheduledThreadPoolExecutor timers(String name) {
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, daemonFactory(name));
    timers.setRemoveOnCancelPolicy(true);
    return timers;
  }

  /** One unstarted daemon thread with this name. */
  public static Thread daemon(String name, Runnable runnable) {
    Thread thread = new Thread(runnable, name);
    thread.setDaemon(true);
    return thread;
  }
}
