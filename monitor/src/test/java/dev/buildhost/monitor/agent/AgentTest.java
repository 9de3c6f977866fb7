package dev.buildhost.monitor.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentTest {
  @TempDir Path tmp;

  @Test
  void backoffDoublesUpToTheBound() {
    Duration min = Duration.ofMillis(100);
    Duration max = Duration.ofMillis(700);
    assertEquals(
        List.of(100L, 200L, 400L, 700L, 700L),
        List.of(1, 2, 3, 4, 9).stream()
            .map(n -> SupervisedAgent.delay(min, max, n).toMillis())
            .toList());
  }

  @Test
  void aCrashingAgentIsStartedAgainAndStoppedOnClose() throws Exception {
    Path runs = tmp.resolve("runs");
    SupervisedAgent a =
        new SupervisedAgent(
            "echo run >> " + runs + "; exit 1",
            tmp,
            Map.of(),
            Duration.ofMillis(10),
            Duration.ofMillis(40));
    a.start();
    // The runs the agent itself recorded, not the supervisor's count of starts: a start counts
    // at once, while its shell may not have written yet when close() kills it.
    await("four runs of the agent")
        .atMost(Duration.ofSeconds(10))
        .until(() -> Files.exists(runs) && Files.readAllLines(runs).size() >= 4);
    a.close();
    assertTrue(a.starts() >= 4, "restarted: " + a.starts());
    int after = a.starts();
    // Nothing is awaited here: the test is that no restart shows within a window after close.
    Thread.sleep(200);
    assertEquals(after, a.starts(), "no restart after close");
  }

  @Test
  void closeStopsALongRunningAgentAndItsEnvironmentIsPassed() throws Exception {
    Path pidFile = tmp.resolve("pid");
    SupervisedAgent a =
        new SupervisedAgent(
            "echo $$ > " + pidFile + "; echo $AGENT_X > " + tmp.resolve("env") + "; exec sleep 600",
            tmp,
            Map.of("AGENT_X", "toolchain-42"),
            Duration.ofSeconds(1),
            Duration.ofSeconds(5));
    a.start();
    await("the agent's pid")
        .atMost(Duration.ofSeconds(10))
        .until(() -> Files.exists(pidFile) && !Files.readString(pidFile).isBlank());
    long pid = Long.parseLong(Files.readString(pidFile).strip());
    assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    a.close();
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "agent stopped");
    assertEquals("toolchain-42", Files.readString(tmp.resolve("env")).strip());
    assertEquals(1, a.starts());
  }

  @Test
  void systemdModeRunsSystemctlStartUnit() throws Exception {
    Path log = tmp.resolve("systemctl.log");
    Path fake = tmp.resolve("systemctl");
    Files.writeString(fake, "#!/bin/sh\necho \"$@\" >> " + log + "\n[ \"$2\" = good.service ]\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    new SystemdAgent(fake.toString(), "good.service", Map.of()).start();
    assertEquals(List.of("start good.service"), Files.readAllLines(log));
    AgentException e =
        assertThrows(
            AgentException.class,
            () -> new SystemdAgent(fake.toString(), "bad.service", Map.of()).start());
    assertTrue(e.getMessage().contains("cannot start the agent unit bad.service"), e.getMessage());
  }
}
