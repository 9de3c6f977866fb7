package dev.buildhost.it.doc;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Runs the {@code sh test} blocks of one page the way a reader would type them into one terminal:
 * in order, with {@code bash -euo pipefail}, each starting in the page's folder, with the shell
 * variables and functions of the earlier blocks (saved with {@code declare} when a block ends and
 * sourced when the next begins). Each block runs in its own session ({@code setsid}), so that what
 * it left running in the background can be stopped by process group when the page is done.
 */
final class BlockRunner implements AutoCloseable {

  /**
   * Result of one block: its exit code (-1 on timeout) and its output, stdout and stderr merged.
   */
  record Result(int exitCode, String output, boolean timedOut) {}

  /**
   * Sources the saved variables, runs the block, saves the variables on exit (even on failure).
   * Bash's own variables and read-only ones are not saved; neither is the working folder.
   */
  private static final String WRAPPER =
      """
      __state=$1
      __block=$2
      if [ -f "$__state" ]; then source "$__state"; fi
      __save() {
        local __rc=$?
        declare -p | grep -Ev '^declare -[-a-zA-Z]*r|^declare -[-a-zA-Z]* (BASH[A-Z_]*|PIPESTATUS|FUNCNAME|GROUPS|_|SHLVL|PWD|OLDPWD|RANDOM|SRANDOM|SECONDS|LINENO|EPOCHSECONDS|EPOCHREALTIME|HISTCMD|COLUMNS|LINES|OPTIND|OPTERR|DIRSTACK|COMP_WORDBREAKS|__[a-z_]*)(=|$)' \\
          > "$__state.tmp" || true
        for __f in $(compgen -A function); do
          [[ $__f == __* ]] || declare -f "$__f" >> "$__state.tmp"
        done
        mv -f "$__state.tmp" "$__state"
        exit $__rc
      }
      trap __save EXIT
      source "$__block"
      """;

  private final Path dir;
  private final Map<String, String> environment;
  private final Duration timeout;
  private final Path state;
  private final Path wrapper;
  private final List<Long> sessions = new ArrayList<>();
  private int count;

  BlockRunner(Path dir, Map<String, String> environment, Duration timeout) throws IOException {
    this.dir = Files.createDirectories(dir);
    this.environment = environment;
    this.timeout = timeout;
    this.state = dir.resolve(".doc-test-variables");
    this.wrapper = dir.resolve(".doc-test-wrapper.sh");
    Files.writeString(wrapper, WRAPPER, StandardCharsets.UTF_8);
  }

  Result run(String block) throws IOException, InterruptedException {
    count++;
    Path script = dir.resolve(".doc-test-block-" + count + ".sh");
    Path output = dir.resolve(".doc-test-block-" + count + ".out");
    Files.writeString(script, block, StandardCharsets.UTF_8);
    ProcessBuilder builder =
        new ProcessBuilder(
                "setsid",
                "bash",
                "-euo",
                "pipefail",
                wrapper.toString(),
                state.toString(),
                script.toString())
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    builder.environment().clear();
    builder.environment().putAll(environment);
    Process process = builder.start();
    sessions.add(process.pid());
    boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (!finished) {
      stopSession(process.pid());
      process.waitFor(10, TimeUnit.SECONDS);
    }
    String text = Files.readString(output, StandardCharsets.UTF_8);
    return new Result(finished ? process.exitValue() : -1, text, !finished);
  }

  /**
   * Stops what the page's blocks left running: SIGTERM to each block's process group, then SIGKILL.
   */
  @Override
  public void close() {
    try {
      stopAll();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void stopAll() throws InterruptedException {
    boolean any = false;
    for (long session : sessions) {
      any |= signal("-TERM", session);
    }
    if (!any) {
      return;
    }
    awaitGone(sessions, Duration.ofSeconds(10));
    for (long session : sessions) {
      signal("-KILL", session);
    }
  }

  private static void stopSession(long session) throws InterruptedException {
    signal("-TERM", session);
    awaitGone(List.of(session), Duration.ofSeconds(5));
    signal("-KILL", session);
  }

  /** Gives the groups up to {@code grace} to end after SIGTERM; what is left gets SIGKILL. */
  private static void awaitGone(List<Long> groups, Duration grace) {
    try {
      await("process groups " + groups + " gone")
          .atMost(grace)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> groups.stream().noneMatch(BlockRunner::groupAlive));
    } catch (ConditionTimeoutException e) {
      // SIGKILL follows
    }
  }

  /** Whether a process of the group (= session, made by setsid) still exists. */
  private static boolean groupAlive(long group) {
    try {
      return new ProcessBuilder("kill", "-0", "--", "-" + group)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start()
              .waitFor()
          == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Sends a signal to a process group; false when the group no longer exists. */
  private static boolean signal(String signal, long group) throws InterruptedException {
    if (!groupAlive(group)) {
      return false;
    }
    try {
      return new ProcessBuilder("kill", signal, "--", "-" + group)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start()
              .waitFor()
          == 0;
    } catch (IOException e) {
      return false;
    }
  }
}
