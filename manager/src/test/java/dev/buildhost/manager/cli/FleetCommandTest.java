package dev.buildhost.manager.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.api.Json;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.daemon.WorkerBackend;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code buildhost fleet hosts|instances|reboots} run in-process against two daemons of one fleet
 * on a real etcd (one member), and against a daemon in no fleet.
 */
class FleetCommandTest {

  private static final Duration PATIENCE = Duration.ofSeconds(30);

  @TempDir static Path dir;
  private static EtcdCluster etcd;
  private static Daemon hostA;
  private static Daemon hostB;
  private static Daemon lone;

  record Run(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    etcd = EtcdCluster.start(dir.resolve("etcd"), 1);
    hostA = daemon("cli-a");
    hostB = daemon("cli-b");
    lone = TestDaemons.start(dir.resolve("lone"), ApiServer.Limits.DEFAULT);
  }

  private static FleetSettings fleet(String host) {
    return FleetSettings.of(etcd.endpoints(), "cli", host)
        .withRebootSlots(1, Duration.ofMinutes(30));
  }

  private static Daemon daemon(String host) throws Exception {
    Path root = dir.resolve(host);
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    return Daemon.start(
        TestDaemons.settings(root, 3).withFleet(fleet(host)),
        config -> List.of(new WorkerBackend()),
        ApiServer.Limits.DEFAULT);
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {hostA, hostB, lone, etcd}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** {@code buildhost fleet VERB --state-dir <host's> ARGS...}. */
  static Run fleet(String host, String verb, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = BuildhostCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    List<String> all =
        new java.util.ArrayList<>(
            List.of("fleet", verb, "--state-dir", dir.resolve(host).resolve("state").toString()));
    all.addAll(List.of(args));
    int exit = cli.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void hostsListsEveryHostOfTheFleetInATableOrJson() throws Exception {
    Run run =
        await("both hosts in the fleet")
            .atMost(PATIENCE)
            .until(() -> fleet("cli-b", "hosts"), r -> r.out().contains("2 host(s)"));
    assertEquals(0, run.exit(), run.toString());
    List<String> lines = run.out().lines().toList();
    assertTrue(
        lines
            .get(0)
            .matches("HOST +ACTIVE +RUNNING +DRAINING +BUILDHOST +OS BUILD +KERNEL +UPDATED"),
        run.out());
    assertTrue(lines.get(1).matches("cli-a +\\d/3 +\\d +no +\\S+ .*"), run.out());
    assertTrue(lines.get(2).startsWith("cli-b "), run.out());

    JsonNode json = Json.MAPPER.readTree(fleet("cli-a", "hosts", "--json").out());
    assertEquals(2, json.size(), json.toString());
    assertEquals("cli-a", json.get(0).path("host").asText());
    assertEquals(3, json.get(0).path("info").path("capacity").path("maxInstances").asInt());
  }

  @Test
  void instancesShowsEachInstanceWithItsHost() throws Exception {
    CliTest.Run start =
        CliTest.runExactly(
            "start", TestDaemons.MACHINE, "--state-dir", dir.resolve("cli-a/state").toString());
    assertEquals(0, start.exit(), start.toString());
    String id = start.out().strip();
    Run run =
        await("the instance in cli-a's record")
            .atMost(PATIENCE)
            .until(() -> fleet("cli-b", "instances"), r -> r.out().contains(id));
    assertEquals(0, run.exit(), run.toString());
    assertTrue(
        run.out().lines().anyMatch(l -> l.matches("cli-a +" + id + " +fake-worker +1.0 .*")),
        run.out());
    JsonNode json = Json.MAPPER.readTree(fleet("cli-b", "instances", "--json").out());
    assertTrue(json.toString().contains("\"host\":\"cli-a\""), json.toString());
  }

  @Test
  void rebootsShowsTheHolderItsPhaseAndTheWaitersInOrder() throws Exception {
    Clock at = Clock.fixed(Instant.parse("2026-05-04T10:00:00Z"), ZoneOffset.UTC);
    try (Fleet monitors = Fleet.connect(fleet("cli-monitors"));
        RebootSemaphore slots = new RebootSemaphore(monitors, at)) {
      Run empty = fleet("cli-a", "reboots");
      assertEquals(0, empty.exit(), empty.toString());
      assertTrue(
          empty
              .out()
              .startsWith(
                  "0 of 1 reboot slot(s) held; a slot whose host has not come back is freed"
                      + " after 30m00s\n"),
          empty.out());
      assertTrue(empty.out().contains("\n0 host(s) waiting\n"), empty.out());

      Duration drain = Duration.ofMinutes(10);
      assertTrue(slots.request("cli-a", "boot-1", "OS build-id changed", drain).granted());
      slots.request("cli-b", "boot-2", "OS build-id changed", drain);
      slots.request("cli-c", "boot-3", "toolchain stable changed", drain);
      slots.rebooting("cli-a");
      Run run = fleet("cli-b", "reboots");
      assertEquals(0, run.exit(), run.toString());
      assertTrue(run.out().startsWith("1 of 1 reboot slot(s) held"), run.out());
      assertTrue(
          run.out().lines().anyMatch(l -> l.matches("cli-a +REBOOTING +.* OS build-id changed")),
          run.out());
      List<String> waiting =
          run.out().lines().dropWhile(l -> !l.equals("2 host(s) waiting")).toList();
      assertTrue(waiting.get(1).matches("# +HOST +SINCE +REASON"), run.out());
      assertTrue(waiting.get(2).matches("1 +cli-b +.* OS build-id changed"), run.out());
      assertTrue(waiting.get(3).matches("2 +cli-c +.* toolchain stable changed"), run.out());

      JsonNode json = Json.MAPPER.readTree(fleet("cli-a", "reboots", "--json").out());
      assertEquals(1, json.path("slots").asInt());
      assertEquals("REBOOTING", json.path("holders").get(0).path("phase").asText());
      assertEquals("cli-c", json.path("waiters").get(1).path("host").asText());
      slots.release("cli-a");
      slots.withdraw("cli-b");
      slots.withdraw("cli-c");
    }
  }

  @Test
  void aDaemonInNoFleetIsExit3WithWhatToSet() {
    for (String verb : List.of("hosts", "instances", "reboots")) {
      Run run = fleet("lone", verb);
      assertEquals(ExitCode.NOT_FOUND, run.exit(), verb + ": " + run);
      assertTrue(run.err().contains("this daemon is in no fleet"), run.err());
      assertTrue(run.err().contains("fleet_endpoints"), run.err());
    }
  }

  @Test
  void fleetWithoutACommandIsAUsageError() {
    CliTest.Run run = CliTest.runExactly("fleet");
    assertEquals(ExitCode.USAGE, run.exit(), run.toString());
    assertTrue(
        run.err().contains("Missing a fleet command: hosts, instances or reboots"), run.err());
  }
}
