package dev.buildhost.it.support;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.client.DaemonEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/** The start of a daemon process a test launched, as its state folder shows it. */
public final class DaemonStartup {

  private DaemonStartup() {}

  /**
   * Waits until the daemon publishes its endpoint ({@code api.json}) in {@code stateDir} and
   * returns it; fails with the daemon's log when it exits first or does not publish in time.
   */
  public static DaemonEndpoint awaitEndpoint(
      Process daemon, Path stateDir, Path log, Duration timeout) throws IOException {
    Path endpoint = stateDir.resolve(DaemonEndpoint.ENDPOINT_FILE);
    try {
      await("the daemon's " + endpoint)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(100))
          .failFast("the daemon exited", () -> !daemon.isAlive())
          .until(() -> Files.exists(endpoint));
    } catch (TerminalFailureException e) {
      fail(
          "the daemon exited with "
              + daemon.exitValue()
              + " before serving; its log:\n"
              + log(log));
    } catch (ConditionTimeoutException e) {
      fail(
          "the daemon did not write "
              + endpoint
              + " within "
              + timeout
              + "; its log:\n"
              + log(log));
    }
    return DaemonEndpoint.locate(stateDir);
  }

  private static String log(Path log) throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log)";
  }
}
