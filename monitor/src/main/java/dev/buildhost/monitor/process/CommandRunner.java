package dev.buildhost.monitor.process;

import dev.buildhost.common.threads.Threads;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a configured shell command ({@code sh -c CMD}) or a program with arguments, logging every
 * line of its output (stdout and stderr merged) with a label. Values from the network reach a
 * command only through environment variables, never through the command text.
 */
public final class CommandRunner {
  private static final Logger LOG = LoggerFactory.getLogger(CommandRunner.class);

  private CommandRunner() {}

  /** Runs {@code sh -c command}. */
  public static void shell(
      String label, String command, Path dir, Map<String, String> env, Duration timeout)
      throws CommandException {
    run(label, List.of("sh", "-c", command), dir, env, timeout);
  }

  /**
   * Runs a program; output is logged as {@code label: line}; the last lines go into the error
   * message.
   */
  public static void run(
      String label, List<String> argv, Path dir, Map<String, String> env, Duration timeout)
      throws CommandException {
    ProcessBuilder pb =
        new ProcessBuilder(argv)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.environment().putAll(env);
    LOG.info(
        "{}: running {}", label, argv.size() == 3 && argv.get(0).equals("sh") ? argv.get(2) : argv);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new CommandException(label + ": cannot start " + argv + ": " + e.getMessage(), e);
    }
    Deque<String> tail = new ArrayDeque<>();
    Thread reader = pipe(label, p, tail);
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        throw new CommandException(
            label + ": still running after " + timeout.toMillis() + " ms; killed it", null);
      }
      reader.join(5000);
    } catch (InterruptedException e) {
      kill(p);
      Thread.currentThread().interrupt();
      throw new CommandException(label + ": interrupted; killed it", e);
    }
    int code = p.exitValue();
    if (code != 0) {
      String last;
      synchronized (tail) {
        last = String.join(" | ", tail);
      }
      throw new CommandException(
          label
              + ": exited with status "
              + code
              + (last.isEmpty() ? " and printed nothing" : "; last output: " + last),
          null);
    }
    LOG.info("{}: done", label);
  }

  /** Logs a process's output line by line on a daemon thread, keeping the last few lines. */
  public static Thread pipe(String label, Process p, Deque<String> tail) {
    Thread t =
        Threads.daemon(
            label + "-output",
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  LOG.info("{}: {}", label, line);
                  if (tail != null) {
                    synchronized (tail) {
                      tail.addLast(line.length() > 200 ? line.substring(0, 200) + "..." : line);
                      if (tail.size() > 5) {
                        tail.removeFirst();
                      }
                    }
                  }
                }
              } catch (IOException e) {
                // the process went away
              }
            });
    t.start();
    return t;
  }

  /** Ends a process and its children: TERM, a grace of 10 s, then KILL. */
  public static void kill(Process p) {
    List<ProcessHandle> kids = p.descendants().toList();
    kids.forEach(ProcessHandle::destroy);
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    kids.forEach(ProcessHandle::destroyForcibly);
  }
}
