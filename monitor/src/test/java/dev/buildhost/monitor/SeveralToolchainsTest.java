package dev.buildhost.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.monitor.agent.SupervisedAgent;
import dev.buildhost.monitor.config.ConfigFile;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.state.StateStore;
import dev.buildhost.monitor.testing.FakeDaemon;
import dev.buildhost.monitor.testing.FakeSmtp;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.TestConfigs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host that serves two toolchains, stable and staging, named as Build OS names them ({@code
 * toolchain_url.<name>}): both bootstrapped, published and watched, one agent each, a change of
 * either reboots, a failure of one is named and does not hold back the other. Real HTTP server,
 * fake daemon over real HTTP, real agent processes and a real script as the reboot command.
 */
class SeveralToolchainsTest {
  static final String BUILDID = "/os/buildos-buildid";
  static final List<String> NAMES = List.of("stable", "staging");

  @TempDir Path tmp;
  FileServer server;
  FakeDaemon daemon;
  Path rebootLog;
  Path bootId;
  Path agentLog;

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static String sums(String name) {
    return "/" + name + "/toolchain.sha256";
  }

  @BeforeEach
  void setUp() throws Exception {
    server = new FileServer();
    server.put(BUILDID, "buildos-1\n");
    for (String name : NAMES) {
      serveToolchain(name, name + " v1");
    }
    daemon = new FakeDaemon("tok");
    Path state = Files.createDirectories(tmp.resolve("state"));
    Files.writeString(state.resolve("api.json"), "{\"url\":\"" + daemon.url() + "\"}");
    Files.writeString(state.resolve("api-token"), "tok\n");
    rebootLog = tmp.resolve("reboots.log");
    bootId = tmp.resolve("boot_id");
    Files.writeString(bootId, "boot-aaaa\n");
    agentLog = tmp.resolve("agents.log");
  }

  @AfterEach
  void tearDown() {
    server.close();
    daemon.close();
  }

  void serveToolchain(String name, String content) throws Exception {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    server.put("/" + name + "/toolchain.tar", bytes);
    server.put(sums(name), sha256(bytes) + "  toolchain.tar\n");
  }

  String servedId(String name) throws Exception {
    return sha256(server.url(sums(name)).toURL().openStream().readAllBytes());
  }

  /** Both toolchains from a config file; the rest as flags. */
  MonitorConfig config(Map<Setting, String> more) throws Exception {
    return config(NAMES, more);
  }

  /** These toolchains from a config file; the rest as flags. */
  MonitorConfig config(List<String> names, Map<Setting, String> more) throws Exception {
    StringBuilder file = new StringBuilder();
    for (String name : names) {
      file.append("toolchain_url.").append(name).append(" = ").append(server.url(sums(name)));
      file.append('\n');
    }
    Map<Setting, String> m = new EnumMap<>(Setting.class);
    m.put(Setting.BUILDID_URL, server.url(BUILDID).toString());
    m.put(Setting.REBOOT_COMMAND, TestConfigs.rebootScript(tmp, rebootLog));
    m.put(Setting.AGENT_MODE, "process");
    m.put(
        Setting.AGENT_COMMAND,
        "echo \"{toolchain} $BUILDHOST_TOOLCHAIN_NAME $BUILDHOST_TOOLCHAIN_ID $(pwd)\" >> "
            + agentLog
            + "; exec sleep 600");
    m.putAll(more);
    return TestConfigs.config(
        tmp,
        m,
        List.of(
            ConfigFile.parse("monitor.conf", file.toString().getBytes(StandardCharsets.UTF_8))));
  }

  Monitor monitor(MonitorConfig cfg) {
    return new Monitor(cfg, Clock.systemUTC(), bootId, ProgressListener.NONE);
  }

  List<String> agentLines() throws IOException {
    return Files.exists(agentLog) ? Files.readAllLines(agentLog) : List.of();
  }

  void awaitAgentLines(int n) {
    Awaitility.await()
        .atMost(15, TimeUnit.SECONDS)
        .pollInterval(10, TimeUnit.MILLISECONDS)
        .until(() -> agentLines().size() >= n);
  }

  @Test
  void bothArePublishedWithTheirIdsAndGetOneAgentEach() throws Exception {
    MonitorConfig cfg = config(Map.of());
    try (Monitor m = monitor(cfg)) {
      m.start();
      assertTrue(m.prepare());
      for (String name : NAMES) {
        Path dir = cfg.toolchainsDir().resolve(name);
        String id = servedId(name);
        assertEquals(dir, m.published(name).dir());
        assertEquals(id, m.published(name).toolchainId());
        assertEquals(
            id,
            sha256(Files.readAllBytes(dir.resolve("toolchain.sha256"))),
            "the id is the SHA-256 of the checksum file published in " + dir);
        assertEquals(name + " v1", Files.readString(dir.resolve("toolchain.tar")), "its own files");
        assertEquals(
            id,
            sha256(
                Files.readAllBytes(
                    cfg.monitorStateDir().resolve("toolchains/" + name + ".sha256"))));
      }
      JsonNode state =
          StateStore.JSON.readTree(cfg.monitorStateDir().resolve("state.json").toFile());
      assertEquals(servedId("stable"), state.path("toolchains").path("stable").path("id").asText());
      assertEquals(
          servedId("staging"), state.path("toolchains").path("staging").path("id").asText());

      awaitAgentLines(2);
      assertEquals(
          new TreeSet<>(
              List.of(
                  "stable stable "
                      + servedId("stable")
                      + " "
                      + cfg.toolchainsDir().resolve("stable"),
                  "staging staging "
                      + servedId("staging")
                      + " "
                      + cfg.toolchainsDir().resolve("staging"))),
          new TreeSet<>(agentLines()),
          "one agent per toolchain, in its folder, told its name and id");
      assertEquals(1, ((SupervisedAgent) m.agent("stable")).starts());
      assertEquals(1, ((SupervisedAgent) m.agent("staging")).starts());

      Monitor.CheckResult r = m.check();
      assertEquals(Monitor.Status.UNCHANGED, r.status(), r.message());
      assertTrue(
          r.message()
              .endsWith(
                  "toolchain stable "
                      + servedId("stable")
                      + ", toolchain staging "
                      + servedId("staging")),
          r.message());
      assertTrue(m.prepare(), "nothing left to do");
      assertEquals(2, agentLines().size(), "no agent started twice");
    }
  }

  @Test
  void aChangeOfEitherToolchainDrainsAndReboots() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.AGENT_MODE, "none"));
    for (String changed : NAMES) {
      serveToolchain("stable", "stable v1");
      serveToolchain("staging", "staging v1");
      Monitor m = monitor(cfg);
      m.start();
      assertTrue(m.prepare());
      assertEquals(Monitor.Status.UNCHANGED, m.check().status());
      String before = servedId(changed);
      serveToolchain(changed, changed + " v2");
      Monitor.CheckResult r = m.check();
      assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
      assertEquals(
          "toolchain "
              + changed
              + ": checksum file "
              + server.url(sums(changed))
              + " changed: id "
              + before
              + " -> "
              + servedId(changed),
          TestConfigs.rebootLog(rebootLog).get(TestConfigs.rebootLog(rebootLog).size() - 1));
    }
    assertEquals(2, TestConfigs.rebootLog(rebootLog).size());
    assertEquals(
        2,
        daemon.requests().stream().filter(q -> q.equals("POST /v1/host/drain")).count(),
        "drained before each reboot");
  }

  @Test
  void aFailingToolchainIsNamedAndDoesNotHoldBackTheOther() throws Exception {
    server.status("/staging/toolchain.tar", 404);
    try (FakeSmtp smtp = new FakeSmtp()) {
      MonitorConfig cfg =
          config(
              Map.of(Setting.SMTP_RELAY, smtp.relay(), Setting.ADMIN_EMAIL, "admin@example.org"));
      try (Monitor m = monitor(cfg)) {
        m.start();
        assertFalse(m.prepare(), "staging is not ready");
        assertNull(m.published("staging"));
        assertNull(m.agent("staging"));
        assertFalse(Files.exists(cfg.toolchainsDir().resolve("staging")));
        awaitAgentLines(1);
        assertTrue(agentLines().get(0).startsWith("stable stable "), agentLines().toString());
        List<String> mail = smtp.received();
        assertTrue(
            mail.stream().anyMatch(l -> l.endsWith(": toolchain staging bootstrap failed")),
            mail.toString());
        assertTrue(
            mail.stream()
                .anyMatch(
                    l ->
                        l.startsWith("toolchain staging (" + server.url(sums("staging")) + "): ")
                            && l.contains("HTTP 404")),
            mail.toString());

        Monitor.CheckResult r = m.check();
        assertEquals(Monitor.Status.UNCHANGED, r.status(), r.message());
        assertTrue(r.message().endsWith("toolchain staging not bootstrapped yet"), r.message());

        server.status(sums("stable"), 500);
        r = m.check();
        assertEquals(Monitor.Status.UNKNOWN, r.status(), r.message());
        assertTrue(
            r.message().contains("toolchain stable: toolchain checksum file: "), r.message());

        server.put("/staging/toolchain.tar", "staging v1".getBytes(StandardCharsets.UTF_8));
        serveToolchain("stable", "stable v1");
        assertTrue(m.prepare(), "staging bootstrapped at the next try");
        awaitAgentLines(2);
        assertTrue(agentLines().get(1).startsWith("staging staging "), agentLines().toString());
        assertEquals(Monitor.Status.UNCHANGED, m.check().status());
      }
    }
    assertEquals(List.of(), TestConfigs.rebootLog(rebootLog));
  }

  @Test
  void aTemplateUnitIsStartedOncePerToolchainAndAFailedStartNamesIt() throws Exception {
    Path log = tmp.resolve("systemctl.log");
    Path fake = tmp.resolve("systemctl");
    Files.writeString(
        fake,
        "#!/bin/sh\necho \"$@ $BUILDHOST_TOOLCHAIN_NAME\" >> "
            + log
            + "\n[ \"$2\" != bbot-agent@staging.service ] || [ -e "
            + tmp.resolve("staging-unit-ok")
            + " ]\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (FakeSmtp smtp = new FakeSmtp()) {
      MonitorConfig cfg =
          config(
              Map.of(
                  Setting.AGENT_MODE,
                  "auto",
                  Setting.AGENT_UNIT,
                  "bbot-agent@.service",
                  Setting.SYSTEMCTL,
                  fake.toString(),
                  Setting.SMTP_RELAY,
                  smtp.relay(),
                  Setting.ADMIN_EMAIL,
                  "admin@example.org"));
      try (Monitor m = monitor(cfg)) {
        m.start();
        assertFalse(m.prepare(), "the agent of staging did not start");
        assertEquals(
            List.of(
                "start bbot-agent@stable.service stable",
                "start bbot-agent@staging.service staging"),
            Files.readAllLines(log));
        assertTrue(
            smtp.received().stream()
                .anyMatch(l -> l.endsWith(": agent of toolchain staging failed to start")),
            smtp.received().toString());
        Files.createFile(tmp.resolve("staging-unit-ok"));
        assertTrue(m.prepare(), "tried again");
        assertEquals(
            List.of(
                "start bbot-agent@stable.service stable",
                "start bbot-agent@staging.service staging",
                "start bbot-agent@staging.service staging"),
            Files.readAllLines(log),
            "the agent that started is not started again");
      }
    }
  }

  @Test
  void aToolchainNoLongerConfiguredIsWithdrawnButNothingElse() throws Exception {
    MonitorConfig both = config(Map.of(Setting.AGENT_MODE, "none"));
    try (Monitor m = monitor(both)) {
      m.start();
      assertTrue(m.prepare());
    }
    Path byHand = Files.createDirectories(both.toolchainsDir().resolve("by-hand"));
    Files.writeString(byHand.resolve("toolchain.sha256"), "not the monitor's\n");

    Files.writeString(bootId, "boot-bbbb\n"); // the next boot, the TFTP root not a tmpfs
    MonitorConfig stableOnly = config(List.of("stable"), Map.of(Setting.AGENT_MODE, "none"));
    try (Monitor m = monitor(stableOnly)) {
      m.start();
      assertFalse(
          Files.exists(both.toolchainsDir().resolve("staging")),
          "staging is no longer served: its folder is gone before anything else happens");
      assertTrue(Files.exists(both.toolchainsDir().resolve("stable/toolchain.sha256")));
      assertTrue(Files.exists(byHand.resolve("toolchain.sha256")), "not the monitor's to remove");
      JsonNode state =
          StateStore.JSON.readTree(stableOnly.monitorStateDir().resolve("state.json").toFile());
      assertEquals(List.of("stable"), fieldNames(state.path("toolchains")));
      assertTrue(m.prepare());
      assertEquals(Monitor.Status.UNCHANGED, m.check().status());
    }
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
