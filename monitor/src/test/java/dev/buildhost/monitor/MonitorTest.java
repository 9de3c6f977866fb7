package dev.buildhost.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.state.StateStore;
import dev.buildhost.monitor.testing.FakeDaemon;
import dev.buildhost.monitor.testing.FakeSmtp;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.ManualTime;
import dev.buildhost.monitor.testing.TestConfigs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor against a real HTTP server whose files change, a fake daemon over real HTTP and a
 * real script standing in for the reboot command.
 */
class MonitorTest {
  static final String BUILDID = "/os/buildos-buildid";
  static final String SUMS = "/tc/toolchain.sha256";

  @TempDir Path tmp;
  FileServer server;
  FakeDaemon daemon;
  Path rebootLog;
  Path bootId;
  ExecutorService pool = Executors.newCachedThreadPool();

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @BeforeEach
  void setUp() throws Exception {
    server = new FileServer();
    server.put(BUILDID, "buildos-20261126-1\n");
    serveToolchain("toolchain v1");
    daemon = new FakeDaemon("tok-123");
    Path state = tmp.resolve("state");
    Files.createDirectories(state);
    Files.writeString(state.resolve("api.json"), "{\"url\":\"" + daemon.url() + "\"}");
    Files.writeString(state.resolve("api-token"), "tok-123\n");
    rebootLog = tmp.resolve("reboots.log");
    bootId = tmp.resolve("boot_id");
    Files.writeString(bootId, "boot-aaaa\n");
  }

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
    server.close();
    daemon.close();
  }

  void serveToolchain(String content) throws Exception {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    server.put("/tc/toolchain.tar", bytes);
    server.put(SUMS, sha256(bytes) + "  toolchain.tar\n");
  }

  MonitorConfig config(Map<Setting, String> more) throws Exception {
    Map<Setting, String> m = new EnumMap<>(Setting.class);
    m.put(Setting.BUILDID_URL, server.url(BUILDID).toString());
    m.put(Setting.TOOLCHAIN_URL, server.url(SUMS).toString());
    m.put(Setting.REBOOT_COMMAND, TestConfigs.rebootScript(tmp, rebootLog));
    m.putAll(more);
    return TestConfigs.config(tmp, m);
  }

  Monitor monitor(MonitorConfig cfg) {
    return new Monitor(cfg, Clock.systemUTC(), bootId, ProgressListener.NONE);
  }

  Monitor started(MonitorConfig cfg) {
    Monitor m = monitor(cfg);
    m.start();
    assertTrue(m.prepare());
    return m;
  }

  /** Waits (bounded) for what the monitor's loop does in real time at a short interval. */
  static ConditionFactory await(String what) {
    return Awaitility.await(what).atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(5));
  }

  List<String> reboots() throws Exception {
    return TestConfigs.rebootLog(rebootLog);
  }

  @Test
  void aBuildIdChangeDrainsThenRunsTheRebootCommandOnceWithTheReason() throws Exception {
    daemon.instance("build-7", "RUNNING", 4);
    MonitorConfig cfg = config(Map.of(Setting.INTERVAL, "30ms"));
    Monitor m = monitor(cfg);
    Future<Integer> run = pool.submit(() -> m.run(false));
    await("three checks").until(() -> server.hits(BUILDID) >= 4);
    assertEquals(List.of(), reboots(), "no change, no reboot");
    assertTrue(daemon.requests().isEmpty(), "no drain without a change");

    server.put(BUILDID, "buildos-20261127-1\n");
    assertEquals(
        0, run.get(15, TimeUnit.SECONDS), "the monitor stops checking once the reboot command ran");

    String reason = "OS build-id changed: 'buildos-20261126-1' -> 'buildos-20261127-1'";
    assertEquals(List.of(reason), reboots());
    List<String> req = daemon.requests();
    assertEquals("POST /v1/host/drain", req.get(0));
    assertEquals(
        List.of("GET /v1/instances"), req.subList(1, req.size()).stream().distinct().toList());
    assertEquals(5, req.size() - 1, "polled until build-7 ended: " + req);
    JsonNode last =
        StateStore.JSON.readTree(cfg.monitorStateDir().resolve("last-reboot.json").toFile());
    assertEquals(reason, last.get("reason").asText());
    assertTrue(last.get("drain").asText().startsWith("host drained"), last.toString());
    Instant at = Instant.parse(last.get("time").asText());
    assertTrue(Duration.between(at, Instant.now()).abs().toMinutes() < 5);
    assertEquals(
        1,
        StateStore.JSON
            .readTree(cfg.monitorStateDir().resolve("reboots.json").toFile())
            .get("reboots")
            .size());
    assertEquals(1, reboots().size(), "exactly once: the loop has returned");
  }

  @Test
  void aToolchainChangeRebootsWithTheOldAndNewIds() throws Exception {
    MonitorConfig cfg = config(Map.of());
    Monitor m = started(cfg);
    String v1 = m.published("toolchain").toolchainId();
    assertEquals(
        v1,
        sha256(Files.readAllBytes(cfg.monitorStateDir().resolve("toolchains/toolchain.sha256"))));
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());

    serveToolchain("toolchain v2");
    String v2 = sha256(server.url(SUMS).toURL().openStream().readAllBytes());
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
    assertEquals(
        List.of(
            "toolchain toolchain: checksum file "
                + server.url(SUMS)
                + " changed: id "
                + v1
                + " -> "
                + v2),
        reboots());
    assertEquals("POST /v1/host/drain", daemon.requests().get(0));
    assertEquals(
        1,
        server.hits("/tc/toolchain.tar"),
        "the new toolchain is not installed before the reboot");
  }

  @Test
  void notFoundAndTimeoutsAreUnknownAndNeverReboot() throws Exception {
    // Long enough for the answers that do come on a loaded machine; the slow one never does.
    MonitorConfig cfg = config(Map.of(Setting.FETCH_TIMEOUT, "1500ms"));
    Monitor m = started(cfg);
    server.status(BUILDID, 404);
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status());
    assertTrue(r.message().contains("HTTP 404 from " + server.url(BUILDID)), r.message());

    server.slow(BUILDID, "buildos-other\n".getBytes(StandardCharsets.UTF_8), 30_000);
    server.status(SUMS, 500);
    r = m.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status());
    assertTrue(r.message().contains("timed out after 1500 ms"), r.message());
    assertTrue(r.message().contains("HTTP 500"), r.message());

    server.put(SUMS, "garbage\n");
    server.put(BUILDID, "   \n");
    r = m.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status());
    assertTrue(r.message().contains("is empty"), r.message());
    assertTrue(r.message().contains("malformed (not treated as a change)"), r.message());

    server.put(BUILDID, "buildos-20261126-1\n");
    serveToolchain("toolchain v1");
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());
    assertEquals(List.of(), reboots());
    assertTrue(daemon.requests().isEmpty());
  }

  @Test
  void aProxyErrorPageServedWith200NeverReboots() throws Exception {
    Monitor m = started(config(Map.of()));
    server.put(
        BUILDID,
        ("<html><head><title>Service Unavailable</title></head>\n<body>The proxy could not"
                + " reach pxe.example.org</body></html>\n")
            .getBytes(StandardCharsets.UTF_8),
        "text/html");
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status(), r.message());
    assertTrue(
        r.message()
            .contains(
                "build-id at "
                    + server.url(BUILDID)
                    + " was served as 'text/html', not as plain"
                    + " text"),
        r.message());
    server.put(BUILDID, "buildos-20261126-1\nbuildos-20261127-1\n");
    assertEquals(Monitor.Status.UNKNOWN, m.check().status());
    assertEquals(List.of(), reboots());
    assertTrue(daemon.requests().isEmpty(), "no drain either");
    assertEquals("buildos-20261126-1", m.buildIdBaseline());
    server.put(BUILDID, "buildos-20261126-1\n");
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());
  }

  @Test
  void theLoopRetriesUnknownChecksEveryInterval() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.INTERVAL, "20ms"));
    Monitor m = monitor(cfg);
    Future<Integer> run = pool.submit(() -> m.run(false));
    await("the first check").until(() -> server.hits(BUILDID) >= 2);
    server.status(BUILDID, 404);
    int before = server.hits(BUILDID);
    await("five failed checks").until(() -> server.hits(BUILDID) >= before + 5);
    assertFalse(run.isDone());
    server.put(BUILDID, "buildos-20261126-1\n");
    int again = server.hits(BUILDID);
    await("a good check").until(() -> server.hits(BUILDID) >= again + 2);
    run.cancel(true);
    assertEquals(List.of(), reboots());
    assertTrue(daemon.requests().isEmpty());
  }

  /**
   * One decided reboot that did not reboot: a new Monitor of the same boot sees the build-id
   * change.
   */
  void rebootOnce(MonitorConfig cfg, ManualTime time) throws Exception {
    server.put(BUILDID, "buildos-A\n");
    Monitor m = new Monitor(cfg, time.clock(), bootId, ProgressListener.NONE, time.uptime());
    m.start();
    assertTrue(m.prepare());
    server.put(BUILDID, "buildos-B\n");
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
  }

  Monitor.CheckResult checkAChange(MonitorConfig cfg, ManualTime time) throws Exception {
    server.put(BUILDID, "buildos-A\n");
    Monitor m = new Monitor(cfg, time.clock(), bootId, ProgressListener.NONE, time.uptime());
    m.start();
    assertTrue(m.prepare());
    server.put(BUILDID, "buildos-B\n");
    return m.check();
  }

  @Test
  void theRebootRateCapRefusesAndSaysWhy() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.MAX_REBOOTS_PER_HOUR, "2"));
    ManualTime time = new ManualTime(Instant.parse("2026-12-01T10:00:00Z"), Duration.ofMinutes(3));
    rebootOnce(cfg, time);
    time.pass(Duration.ofMinutes(10));
    rebootOnce(cfg, time);
    assertEquals(2, reboots().size());
    time.pass(Duration.ofMinutes(5));
    int drains = daemon.requests().size();
    Monitor.CheckResult r = checkAChange(cfg, time);
    assertEquals(Monitor.Status.REFUSED, r.status());
    assertTrue(
        r.message()
            .startsWith(
                "not rebooting for \"OS build-id changed: 'buildos-A' -> 'buildos-B'\": "
                    + "2 reboot(s) in the last hour (at 2026-12-01T10:00:00Z, 2026-12-01T10:10:00Z) reach max_reboots_per_hour=2;"
                    + " the next reboot may happen after 2026-12-01T11:00:00Z"),
        r.message());
    assertEquals(2, reboots().size(), "the reboot command did not run");
    assertEquals(drains, daemon.requests().size(), "a refused reboot does not drain the host");

    time.pass(Duration.ofMinutes(46));
    assertEquals(
        Monitor.Status.REBOOTING,
        checkAChange(cfg, time).status(),
        "an hour later the cap allows it again");
    assertEquals(3, reboots().size());
  }

  @Test
  void theRateCapHoldsWhenTheWallClockIsSteppedBackOrForward() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.MAX_REBOOTS_PER_HOUR, "2"));
    ManualTime time = new ManualTime(Instant.parse("2026-12-01T10:00:00Z"), Duration.ofMinutes(3));
    rebootOnce(cfg, time);
    time.pass(Duration.ofMinutes(1));
    rebootOnce(cfg, time);

    time.pass(Duration.ofMinutes(1));
    time.stepWallClock(Duration.ofHours(-3));
    Monitor.CheckResult back = checkAChange(cfg, time);
    assertEquals(
        Monitor.Status.REFUSED, back.status(), "clock stepped back 3 h: " + back.message());

    time.stepWallClock(Duration.ofHours(6));
    Monitor.CheckResult forward = checkAChange(cfg, time);
    assertEquals(
        Monitor.Status.REFUSED,
        forward.status(),
        "clock stepped forward 6 h: " + forward.message());
    assertTrue(forward.message().contains("2 reboot(s) in the last hour"), forward.message());
    assertEquals(2, reboots().size());

    time.pass(Duration.ofMinutes(59));
    assertEquals(
        Monitor.Status.REBOOTING, checkAChange(cfg, time).status(), "an hour of uptime later");
  }

  @Test
  void theRateCapHoldsAcrossReboots() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.MAX_REBOOTS_PER_HOUR, "2"));
    ManualTime time = new ManualTime(Instant.parse("2026-12-01T10:00:00Z"), Duration.ofMinutes(2));
    rebootOnce(cfg, time);
    Files.writeString(bootId, "boot-bbbb\n");
    time.boot(Duration.ofSeconds(40));
    time.stepWallClock(Duration.ofHours(-2)); // an RTC that is wrong until NTP steps it
    rebootOnce(cfg, time);
    Files.writeString(bootId, "boot-cccc\n");
    time.boot(Duration.ofSeconds(40));
    time.stepWallClock(Duration.ofHours(5));
    Monitor.CheckResult r = checkAChange(cfg, time);
    assertEquals(
        Monitor.Status.REFUSED,
        r.status(),
        "two quick reboots: a loop, whatever the wall clock says");
    Files.delete(cfgStateFile("host-clock.json"));
    assertEquals(
        Monitor.Status.REFUSED,
        checkAChange(cfg, time).status(),
        "a lost host-clock.json does not reset the cap");
  }

  @Test
  void aZeroCapNeverReboots() throws Exception {
    Monitor m = started(config(Map.of(Setting.MAX_REBOOTS_PER_HOUR, "0")));
    server.put(BUILDID, "new\n");
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.REFUSED, r.status());
    assertTrue(r.message().contains("max_reboots_per_hour is 0"), r.message());
    assertEquals(List.of(), reboots());
  }

  @Test
  void aFailedRebootCommandCancelsTheDrainAndIsNotified() throws Exception {
    try (FakeSmtp smtp = new FakeSmtp()) {
      MonitorConfig cfg =
          config(
              Map.of(
                  Setting.REBOOT_COMMAND,
                  "echo no permission; exit 1",
                  Setting.SMTP_RELAY,
                  smtp.relay(),
                  Setting.ADMIN_EMAIL,
                  "admin@example.org"));
      Monitor m = started(cfg);
      server.put(BUILDID, "new\n");
      Monitor.CheckResult r = m.check();
      assertEquals(Monitor.Status.REBOOT_FAILED, r.status());
      assertTrue(
          r.message().contains("reboot: exited with status 1; last output: no permission"),
          r.message());
      assertEquals(
          List.of("POST /v1/host/drain", "GET /v1/instances", "DELETE /v1/host/drain"),
          daemon.requests());
      assertFalse(daemon.draining());
      List<String> mail = smtp.received();
      assertTrue(
          mail.stream()
              .anyMatch(l -> l.startsWith("Subject: buildhost ") && l.endsWith(": rebooting")),
          mail.toString());
      assertTrue(mail.stream().anyMatch(l -> l.endsWith(": reboot failed")), mail.toString());
      assertTrue(mail.contains("RCPT TO:<admin@example.org>"));
      assertTrue(
          mail.contains("OS build-id changed: 'buildos-20261126-1' -> 'new'"), mail.toString());
    }
  }

  @Test
  void aRebootWithoutADaemonGoesAhead() throws Exception {
    Files.delete(tmp.resolve("state/api.json"));
    Monitor m = started(config(Map.of()));
    server.put(BUILDID, "new\n");
    assertEquals(Monitor.Status.REBOOTING, m.check().status());
    assertEquals(1, reboots().size());
  }

  /**
   * The daemon exited (api.json withdrawn, port closed) but its journal still lists an instance.
   */
  void daemonDownWithAnInstanceRecord() throws Exception {
    daemon.close();
    Path journal = Files.createDirectories(tmp.resolve("state/instances"));
    Files.writeString(journal.resolve("i-7.json"), "{\"id\":\"i-7\",\"state\":\"RUNNING\"}");
  }

  @Test
  void aRebootWaitsWhileTheDaemonIsDownAndItsGuestsMayRun() throws Exception {
    try (FakeSmtp smtp = new FakeSmtp()) {
      Monitor m =
          started(
              config(
                  Map.of(
                      Setting.SMTP_RELAY, smtp.relay(), Setting.ADMIN_EMAIL, "admin@example.org")));
      daemonDownWithAnInstanceRecord();
      server.put(BUILDID, "buildos-20261127-1\n");
      Monitor.CheckResult r = m.check();
      assertEquals(Monitor.Status.UNKNOWN, r.status(), r.message());
      assertTrue(
          r.message()
              .startsWith(
                  "not rebooting for \"OS build-id changed: 'buildos-20261126-1' ->"
                      + " 'buildos-20261127-1'\" while the daemon is down: no daemon listens at "),
          r.message());
      assertTrue(
          r.message()
              .contains(
                  "its guests may still run: its journal "
                      + tmp.resolve("state/instances")
                      + " holds 1 instance record(s)"),
          r.message());
      assertTrue(
          r.message().endsWith("set reboot_when_daemon_down=true to reboot anyway)"), r.message());
      assertEquals(Monitor.Status.UNKNOWN, m.check().status(), "still waiting at the next check");
      assertEquals(List.of(), reboots(), "the reboot command did not run");
      assertFalse(Files.exists(cfgStateFile("reboots.json")), "a reboot that waits is not counted");
      assertEquals(
          1,
          smtp.received().stream().filter(l -> l.endsWith(": reboot waits for the daemon")).count(),
          "mailed once: " + smtp.received());

      Files.delete(tmp.resolve("state/instances/i-7.json"));
      assertEquals(
          Monitor.Status.REBOOTING, m.check().status(), "no instance left: nothing to wait for");
      assertEquals(1, reboots().size());
    }
  }

  @Test
  void rebootWhenDaemonDownLetsTheRebootGoAhead() throws Exception {
    Monitor m = started(config(Map.of(Setting.REBOOT_WHEN_DAEMON_DOWN, "true")));
    daemonDownWithAnInstanceRecord();
    server.put(BUILDID, "buildos-20261127-1\n");
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
    assertEquals(
        List.of("OS build-id changed: 'buildos-20261126-1' -> 'buildos-20261127-1'"), reboots());
    JsonNode last = StateStore.JSON.readTree(cfgStateFile("last-reboot.json").toFile());
    assertTrue(
        last.get("drain").asText().endsWith("rebooting anyway (reboot_when_daemon_down)"),
        last.toString());
  }

  Path cfgStateFile(String name) {
    return tmp.resolve("state/monitor").resolve(name);
  }

  @Test
  void anUnknownBuildIdAtStartBecomesTheFirstOneRead() throws Exception {
    server.status(BUILDID, 503);
    Monitor m = started(config(Map.of()));
    assertNull(m.buildIdBaseline());
    assertEquals(Monitor.Status.UNKNOWN, m.check().status());
    server.put(BUILDID, "buildos-x\n");
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());
    assertEquals("buildos-x", m.buildIdBaseline());
    server.put(BUILDID, "buildos-y\n");
    assertEquals(Monitor.Status.REBOOTING, m.check().status());
  }

  @Test
  void theBaselineSurvivesAMonitorRestartButNotAReboot() throws Exception {
    MonitorConfig cfg = config(Map.of());
    started(cfg);
    server.put(BUILDID, "changed-while-the-monitor-was-down\n");
    Monitor restarted = started(cfg);
    assertEquals(
        "buildos-20261126-1", restarted.buildIdBaseline(), "same boot: the OS did not change");
    assertEquals(Monitor.Status.REBOOTING, restarted.check().status());

    Files.writeString(bootId, "boot-bbbb\n");
    Monitor afterReboot = started(cfg);
    assertEquals("changed-while-the-monitor-was-down", afterReboot.buildIdBaseline());
    assertEquals(Monitor.Status.UNCHANGED, afterReboot.check().status());
    assertEquals(1, reboots().size());
  }

  @Test
  void aFailedBootstrapIsRetriedAtTheNextCheck() throws Exception {
    server.status("/tc/toolchain.tar", 404);
    Path agentLog = tmp.resolve("agent.log");
    MonitorConfig cfg =
        config(
            Map.of(
                Setting.AGENT_MODE,
                "process",
                Setting.AGENT_COMMAND,
                "echo $BUILDHOST_TOOLCHAIN_NAME >> " + agentLog + "; exec sleep 600"));
    try (Monitor m = monitor(cfg)) {
      m.start();
      assertFalse(m.prepare());
      assertNull(m.published("toolchain"));
      assertNull(m.agent("toolchain"), "no agent without a toolchain");
      assertEquals(
          Monitor.Status.UNCHANGED,
          m.check().status(),
          "no toolchain baseline yet: only the OS is watched");
      serveToolchain("toolchain v1");
      assertTrue(m.prepare());
      await("the agent").until(() -> Files.exists(agentLog));
      await("the agent's output")
          .until(() -> Files.readAllLines(agentLog).equals(List.of("toolchain")));
    }
    assertEquals(List.of(), reboots());
  }
}
