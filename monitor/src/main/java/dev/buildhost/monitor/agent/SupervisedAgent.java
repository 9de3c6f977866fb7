package dev.buildhost.monitor.agent;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.monitor.process.CommandRunner;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent as a child process ({@code sh -c CMD}) that is started again whenever it exits: after
 * {@code backoffMin}, then twice as long at each quick exit, never more than {@code backoffMax}; a
 * run that lasted at least {@code backoffMax} resets the delay.
 */
public final class SupervisedAgent implements Agent {
  private static final Logger LOG = LoggerFactory.getLogger(SupervisedAgent.class);

  private final String label;
  private final String command;
  private final Path dir;
  private final Map<String, String> env;
  private final Duration backoffMin;
  private final Duration backoffMax;
  private final AtomicInteger starts = new AtomicInteger();
  private final Object lock = new Object();
  private Thread thread;
  private Process process;
  private volatile boolean closed;

  public SupervisedAgent(
      String command, Path dir, Map<String, String> env, Duration backoffMin, Duration backoffMax) {
    this("agent", command, dir, env, backoffMin, backoffMax);
  }

  /**
   * @param label names this agent in the log ({@code agent stage} when the host serves several
   *     toolchains) and prefixes its output lines
   */
  public SupervisedAgent(
      String label,
      String command,
      Path dir,
      Map<String, String> env,
      Duration backoffMin,
      Duration backoffMax) {
    this.label = label;
    this.command = command;
    this.dir = dir;
    this.env = Map.copyOf(env);
    this.backoffMin = backoffMin;
    this.backoffMax = backoffMax;
  }

  /** How often the command was started so far. */
  public int starts() {
    return starts.get();
  }

  /**
   * The delay after {@code quickExits} exits in a row that each ran shorter than the maximum delay.
   */
  public static Duration delay(Duration min, Duration max, int quickExits) {
    Duration d = min;
    for (int i = 1; i < quickExits && d.compareTo(max) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(max) > 0 ? max : d;
  }

  @Override
  public void start() throws AgentException {
    synchronized (lock) {
      if (thread != null) {
        return;
      }
      spawn();
      thread = Threads.daemon(label.replace(' ', '-') + "-supervisor", this::supervise);
      thread.start();
    }
  }

  private void spawn() throws AgentException {
    ProcessBuilder pb =
        new ProcessBuilder(List.of("sh", "-c", command))
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      process = p;
      int n = starts.incrementAndGet();
      LOG.info("{} started (pid {}, start #{}): {}", label, p.pid(), n, command);
      CommandRunner.pipe(label, p, null);
    } catch (IOException e) {
      throw new AgentException("cannot start the " + label + " command: " + e.getMessage(), e);
    }
  }

  private void supervise() {
    int quickExits = 0;
    while (!closed) {
      Process p;
      synchronized (lock) {
        p = process;
      }
      long began = System.nanoTime();
      String how;
      if (p == null) {
        how = "could not be started";
      } else {
        try {
          how = "exited with status " + p.waitFor();
        } catch (InterruptedException e) {
          break;
        }
      }
      if (closed) {
        break;
      }
      Duration ran = Duration.ofNanos(System.nanoTime() - began);
      quickExits = ran.compareTo(backoffMax) >= 0 ? 1 : quickExits + 1;
      Duration wait = delay(backoffMin, backoffMax, quickExits);
      LOG.warn(
          "{} {} after {} ms; starting it again in {} ms",
          label,
          how,
          ran.toMillis(),
          wait.toMillis());
      try {
        Thread.sleep(wait.toMillis());
      } catch (InterruptedException e) {
        break;
      }
      synchronized (lock) {
        if (closed) {
          break;
        }
        try {
          spawn();
        } catch (AgentException e) {
          LOG.error("{}", e.getMessage());
          process = null;
        }
      }
    }
  }

  @Override
  public void close() {
    Process p;
    Thread t;
    synchronized (lock) {
      closed = true;
      p = process;
      t = thread;
    }
    if (t != null) {
      t.interrupt();
    }
    if (p != null && p.isAlive()) {
      LOG.info("stopping the {} (pid {})", label, p.pid());
      CommandRunner.kill(p);
    }
    if (t != null) {
      try {
        t.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
