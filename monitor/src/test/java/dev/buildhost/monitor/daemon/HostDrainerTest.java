package dev.buildhost.monitor.daemon;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.testing.FakeDaemon;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.TestConfigs;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostDrainerTest {
  static final Duration POLL = Duration.ofMillis(10);
  @TempDir Path tmp;

  HostDrainer drainer(URI url, String token) {
    return new HostDrainer(
        () -> new DaemonClient(url, token, Duration.ofSeconds(2)),
        new GuestRecords(tmp.resolve("state"), false));
  }

  static URI closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return URI.create("http://127.0.0.1:" + s.getLocalPort());
    }
  }

  /** A journal as the daemon keeps it: one record per instance not yet deleted. */
  void journal(String... ids) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("state/instances"));
    for (String id : ids) {
      Files.writeString(dir.resolve(id + ".json"), "{\"id\":\"" + id + "\",\"state\":\"RUNNING\"}");
    }
  }

  @Test
  void waitsUntilNoInstanceRunsWithTheToken() throws Exception {
    try (FakeDaemon d = new FakeDaemon("s3cret")) {
      d.instance("i-1", "RUNNING", 3).instance("i-2", "STARTING", 5).instance("i-3", "STOPPED", -1);
      HostDrainer.Result r = drainer(d.url(), "s3cret").drain(Duration.ofSeconds(10), POLL);
      assertEquals(HostDrainer.Outcome.DRAINED, r.outcome(), r.summary());
      List<String> req = d.requests();
      assertEquals("POST /v1/host/drain", req.get(0));
      assertEquals(6, Collections.frequency(req, "GET /v1/instances"), req.toString());
      assertTrue(d.draining());
    }
  }

  @Test
  void givesUpAtTheDrainTimeout() throws Exception {
    try (FakeDaemon d = new FakeDaemon(null)) {
      d.instance("i-1", "RUNNING", -1);
      long t0 = System.nanoTime();
      HostDrainer.Result r = drainer(d.url(), null).drain(Duration.ofMillis(200), POLL);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(HostDrainer.Outcome.TIMED_OUT, r.outcome());
      assertTrue(r.summary().contains("still active: [i-1 (RUNNING)]"), r.summary());
      assertTrue(ms >= 200, "waited the timeout: " + ms);
    }
  }

  @Test
  void aWrongTokenIsRetriedUntilTheTimeout() throws Exception {
    try (FakeDaemon d = new FakeDaemon("right")) {
      HostDrainer.Result r = drainer(d.url(), "wrong").drain(Duration.ofMillis(100), POLL);
      assertEquals(HostDrainer.Outcome.TIMED_OUT, r.outcome());
      assertTrue(
          r.summary().contains("HTTP 401 (is the token in the token file right?)"), r.summary());
    }
  }

  @Test
  void noDaemonListeningWithAnEmptyJournalMeansNothingToDrain() throws Exception {
    journal();
    HostDrainer.Result r = drainer(closedPort(), null).drain(Duration.ofSeconds(5), POLL);
    assertEquals(HostDrainer.Outcome.NO_DAEMON, r.outcome());
    assertTrue(r.summary().contains("no daemon listens"), r.summary());
    assertTrue(r.summary().contains("no guest can run"), r.summary());
  }

  @Test
  void noDaemonListeningWhileItsJournalHoldsInstancesIsDown() throws Exception {
    journal("i-1", "i-2");
    Files.writeString(tmp.resolve("state/instances/.i-3.json.tmp"), "half");
    HostDrainer.Result r = drainer(closedPort(), null).drain(Duration.ofSeconds(5), POLL);
    assertEquals(HostDrainer.Outcome.DAEMON_DOWN, r.outcome(), r.summary());
    assertTrue(r.summary().contains("no daemon listens"), r.summary());
    assertTrue(
        r.summary()
            .endsWith(
                "its guests may still run: its journal "
                    + tmp.resolve("state/instances")
                    + " holds 2 instance record(s)"),
        r.summary());
  }

  @Test
  void anUnknownInstanceHoldsTheDrainUntilItsGuestIsGone() throws Exception {
    try (FakeDaemon d = new FakeDaemon("s3cret")) {
      d.instance("i-1", "UNKNOWN", 3).instance("i-2", "STOPPED", -1);
      HostDrainer.Result r = drainer(d.url(), "s3cret").drain(Duration.ofSeconds(10), POLL);
      assertEquals(HostDrainer.Outcome.DRAINED, r.outcome(), r.summary());
      assertEquals(
          4, Collections.frequency(d.requests(), "GET /v1/instances"), d.requests().toString());
    }
    try (FakeDaemon d = new FakeDaemon("s3cret")) {
      d.instance("i-1", "UNKNOWN", -1);
      HostDrainer.Result r = drainer(d.url(), "s3cret").drain(Duration.ofMillis(300), POLL);
      assertEquals(HostDrainer.Outcome.TIMED_OUT, r.outcome(), r.summary());
      assertTrue(r.summary().contains("i-1 (UNKNOWN)"), r.summary());
    }
  }

  @Test
  void anUnreadableRecordIsARecordWhenTheDaemonIsDown() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("state/instances"));
    Files.writeString(dir.resolve("i-1.json.bad"), "{ torn");
    HostDrainer none = new HostDrainer(() -> null, new GuestRecords(tmp.resolve("state"), false));
    HostDrainer.Result r = none.drain(Duration.ofSeconds(5), POLL);
    assertEquals(HostDrainer.Outcome.DAEMON_DOWN, r.outcome(), r.summary());
  }

  @Test
  void noDaemonAtAllWithInstanceRecordsIsDown() throws Exception {
    journal("i-1");
    HostDrainer none = new HostDrainer(() -> null, new GuestRecords(tmp.resolve("state"), false));
    HostDrainer.Result r = none.drain(Duration.ofSeconds(5), POLL);
    assertEquals(HostDrainer.Outcome.DAEMON_DOWN, r.outcome(), r.summary());
    assertTrue(
        r.summary()
            .startsWith(
                "no daemon runs (no daemon_url, no api.json), but its guests may still run"),
        r.summary());
    Files.delete(tmp.resolve("state/instances/i-1.json"));
    assertEquals(HostDrainer.Outcome.NO_DAEMON, none.drain(Duration.ofSeconds(5), POLL).outcome());
    Files.delete(tmp.resolve("state/instances"));
    assertEquals(
        HostDrainer.Outcome.NO_DAEMON,
        none.drain(Duration.ofSeconds(5), POLL).outcome(),
        "no journal: no daemon ran with this state folder");
    HostDrainer elsewhere =
        new HostDrainer(() -> null, new GuestRecords(tmp.resolve("state"), true));
    HostDrainer.Result unknown = elsewhere.drain(Duration.ofSeconds(5), POLL);
    assertEquals(
        HostDrainer.Outcome.DAEMON_DOWN,
        unknown.outcome(),
        "daemon_url set: its journal may be elsewhere");
  }

  @Test
  void aDaemonThatGoesAwayDuringTheDrainIsDown() throws Exception {
    journal("i-1");
    FakeDaemon d = new FakeDaemon(null);
    d.instance("i-1", "RUNNING", -1);
    URI url = d.url();
    HostDrainer dr = drainer(url, null);
    ExecutorService drainer = Executors.newSingleThreadExecutor(Threads.daemonFactory("drain"));
    try {
      Future<HostDrainer.Result> drain =
          drainer.submit(() -> dr.drain(Duration.ofMillis(600), POLL));
      await("two polls of the instances")
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> Collections.frequency(d.requests(), "GET /v1/instances") >= 2);
      d.close();
      HostDrainer.Result result = drain.get(10, TimeUnit.SECONDS);
      assertEquals(HostDrainer.Outcome.DAEMON_DOWN, result.outcome(), result.summary());
      assertTrue(
          result.summary().startsWith("the daemon stopped answering during the drain"),
          result.summary());
    } finally {
      drainer.shutdownNow();
    }
  }

  @Test
  void cancelEndsTheDrain() throws Exception {
    try (FakeDaemon d = new FakeDaemon(null)) {
      HostDrainer dr = drainer(d.url(), null);
      dr.drain(Duration.ofSeconds(5), POLL);
      dr.cancel();
      assertEquals("DELETE /v1/host/drain", d.requests().get(d.requests().size() - 1));
      assertTrue(!d.draining());
    }
  }

  @Test
  void answersOutsideTheContractAreClearErrors() throws Exception {
    try (FileServer s = new FileServer()) {
      DaemonClient c = new DaemonClient(s.url("/"), null, Duration.ofSeconds(2));
      s.put("/v1/host/drain", "{\"draining\": false}");
      DaemonException notDraining = assertThrows(DaemonException.class, c::drain);
      assertTrue(
          notDraining.getMessage().contains("without \"draining\": true"),
          notDraining.getMessage());
      s.put("/v1/instances", "<html>proxy error</html>");
      DaemonException html = assertThrows(DaemonException.class, c::instances);
      assertTrue(html.getMessage().contains("not the JSON agreed"), html.getMessage());
      s.put("/v1/instances", "{\"instances\": []}");
      assertTrue(
          assertThrows(DaemonException.class, c::instances)
              .getMessage()
              .contains("GET " + s.url("/v1/instances") + " answered something that is not"));
      s.put("/v1/instances", "[{\"id\": \"x\", \"tftpPort\": 0}]");
      assertTrue(
          assertThrows(DaemonException.class, c::instances)
              .getMessage()
              .contains("without id or state"));
      s.status("/v1/instances", 500);
      assertTrue(
          assertThrows(DaemonException.class, c::instances)
              .getMessage()
              .contains("answered HTTP 500"));
    }
  }

  @Test
  void locateReadsApiJsonAndTheTokenFile() throws Exception {
    try (FakeDaemon d = new FakeDaemon("tok")) {
      d.instance("a", "RUNNING", 0);
      MonitorConfig cfg = TestConfigs.config(tmp, Map.of());
      assertTrue(
          DaemonClient.locate(cfg, Duration.ofSeconds(1)).isEmpty(), "no api.json, no daemon_url");
      Files.createDirectories(cfg.stateDir());
      Files.writeString(cfg.stateDir().resolve("api.json"), "{\"url\": \"" + d.url() + "\"}");
      Files.writeString(cfg.stateDir().resolve("api-token"), "tok\n");
      DaemonClient c = DaemonClient.locate(cfg, Duration.ofSeconds(1)).orElseThrow();
      c.drain();
      assertEquals(List.of(new DaemonClient.InstanceInfo("a", "STOPPED")), c.instances());

      Files.writeString(cfg.stateDir().resolve("api.json"), "{not json");
      DaemonException e =
          assertThrows(
              DaemonException.class, () -> DaemonClient.locate(cfg, Duration.ofSeconds(1)));
      assertTrue(e.getMessage().contains("api.json"), e.getMessage());

      MonitorConfig flagged =
          TestConfigs.config(
              tmp,
              Map.of(
                  Setting.DAEMON_URL,
                  d.url().toString(),
                  Setting.TOKEN_FILE,
                  tmp.resolve("other-token").toString()));
      Files.writeString(tmp.resolve("other-token"), "tok");
      DaemonClient.locate(flagged, Duration.ofSeconds(1)).orElseThrow().cancelDrain();
      assertEquals("DELETE /v1/host/drain", d.requests().get(d.requests().size() - 1));
    }
  }
}
