package dev.buildhost.monitor.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostDrainerTest {
  static final Duration POLL = Duration.ofMillis(10);
  @TempDir Path tmp;

  static HostDrainer drainer(URI url, String token) {
    return new HostDrainer(() -> new DaemonClient(url, token, Duration.ofSeconds(2)));
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
      assertTrue(r.summary().contains("HTTP 401 (is the token in the token file right?)"), r.summary());
    }
  }

  @Test
  void noDaemonListeningMeansNothingToDrain() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    HostDrainer.Result r = drainer(URI.create("http://127.0.0.1:" + port), null).drain(Duration.ofSeconds(5), POLL);
    assertEquals(HostDrainer.Outcome.NO_DAEMON, r.outcome());
    assertTrue(r.summary().contains("no daemon listens"), r.summary());
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
      assertTrue(notDraining.getMessage().contains("without \"draining\": true"), notDraining.getMessage());
      s.put("/v1/instances", "<html>proxy error</html>");
      DaemonException html = assertThrows(DaemonException.class, c::instances);
      assertTrue(html.getMessage().contains("not JSON: <html>proxy error</html>"), html.getMessage());
      s.put("/v1/instances", "{\"instances\": []}");
      assertTrue(assertThrows(DaemonException.class, c::instances).getMessage().contains("not answer a JSON array"));
      s.put("/v1/instances", "[{\"id\": \"x\"}]");
      assertTrue(assertThrows(DaemonException.class, c::instances).getMessage().contains("without id or state"));
      s.status("/v1/instances", 500);
      assertTrue(assertThrows(DaemonException.class, c::instances).getMessage().contains("answered HTTP 500"));
    }
  }

  @Test
  void locateReadsApiJsonAndTheTokenFile() throws Exception {
    try (FakeDaemon d = new FakeDaemon("tok")) {
      d.instance("a", "RUNNING", 0);
      MonitorConfig cfg = TestConfigs.config(tmp, Map.of());
      assertTrue(DaemonClient.locate(cfg, Duration.ofSeconds(1)).isEmpty(), "no api.json, no daemon_url");
      Files.createDirectories(cfg.stateDir());
      Files.writeString(cfg.stateDir().resolve("api.json"), "{\"url\": \"" + d.url() + "\"}");
      Files.writeString(cfg.stateDir().resolve("api-token"), "tok\n");
      DaemonClient c = DaemonClient.locate(cfg, Duration.ofSeconds(1)).orElseThrow();
      c.drain();
      assertEquals(List.of(new DaemonClient.InstanceInfo("a", "STOPPED")), c.instances());

      Files.writeString(cfg.stateDir().resolve("api.json"), "{not json");
      DaemonException e = assertThrows(DaemonException.class, () -> DaemonClient.locate(cfg, Duration.ofSeconds(1)));
      assertTrue(e.getMessage().contains("api.json"), e.getMessage());

      MonitorConfig flagged = TestConfigs.config(tmp, Map.of(Setting.DAEMON_URL, d.url().toString(),
          Setting.TOKEN_FILE, tmp.resolve("other-token").toString()));
      Files.writeString(tmp.resolve("other-token"), "tok");
      DaemonClient.locate(flagged, Duration.ofSeconds(1)).orElseThrow().cancelDrain();
      assertEquals("DELETE /v1/host/drain", d.requests().get(d.requests().size() - 1));
    }
  }
}
