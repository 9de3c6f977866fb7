package dev.buildhost.it.monitor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.it.support.DaemonStartup;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.Samples;
import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor drains a real daemon (its own JVM, real Docker engine) that runs an instance of the
 * sample container, and runs the reboot command only after that instance ended. The reboot command
 * is a script that records, through the daemon's API, the instance's state at the moment it runs.
 */
class MonitorDrainIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TASK_SECONDS = 8;

  @TempDir Path tmp;
  private Process daemon;
  private HttpServer buildIds;
  private final ExecutorService pool = Executors.newSingleThreadExecutor();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private URI api;
  private String token;

  @AfterEach
  void stop() throws Exception {
    pool.shutdownNow();
    if (buildIds != null) {
      buildIds.stop(0);
    }
    if (daemon != null && daemon.isAlive()) {
      daemon.destroy();
      if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
        daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void theRebootWaitsForTheRunningInstance() throws Exception {
    Daemons.docker().close();
    Path curl = Requirement.command("curl");
    Path sample = Samples.machines().resolve(Samples.CONTAINER);
    Samples.revision(Samples.CONTAINER);

    Path root = tmp.resolve("build");
    Path state = tmp.resolve("state");
    Files.createDirectories(root.resolve("machines"));
    Files.createDirectories(state);
    copy(sample, root.resolve("machines"));
    startDaemon(root, state, true);

    String id = startInstance("command: sleep " + TASK_SECONDS + "\n");
    awaitState(id, "RUNNING", Duration.ofSeconds(90));

    AtomicReference<String> buildId = new AtomicReference<>("buildos-1\n");
    serveBuildId(buildId);

    Path rebootLog = tmp.resolve("reboot.log");
    Path snapshot = tmp.resolve("instance-at-reboot.json");
    Path script = tmp.resolve("fake-reboot.sh");
    Files.writeString(
        script,
        "#!/bin/sh\n"
            + curl
            + " -sS -H \"Authorization: Bearer $(cat '"
            + state.resolve("api-token")
            + "')\" '"
            + api.resolve("/v1/instances/" + id)
            + "' > '"
            + snapshot
            + "'\n"
            + "printf '%s\\n' \"$BUILDHOST_REBOOT_REASON\" >> '"
            + rebootLog
            + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    flags.put(Setting.ROOT, root.toString());
    flags.put(Setting.STATE_DIR, state.toString());
    flags.put(
        Setting.BUILDID_URL,
        "http://127.0.0.1:" + buildIds.getAddress().getPort() + "/buildos-buildid");
    flags.put(Setting.REBOOT_COMMAND, script.toString());
    flags.put(Setting.DRAIN_TIMEOUT, "3m");
    flags.put(Setting.DRAIN_POLL, "200ms");
    flags.put(Setting.AGENT_MODE, "none");
    MonitorConfig cfg = MonitorConfig.resolve(List.of(ConfigLoader.flags(flags)));
    Monitor monitor = new Monitor(cfg);
    monitor.start();
    assertTrue(monitor.prepare());
    assertEquals(Monitor.Status.UNCHANGED, monitor.check().status());

    buildId.set("buildos-2\n");
    Future<Monitor.CheckResult> check = pool.submit(monitor::check);
    awaitDraining(Duration.ofSeconds(30));
    assertEquals(
        503,
        post("/v1/instances", startBody("command: true\n")).statusCode(),
        "a draining daemon refuses new instances");
    assertEquals("RUNNING", instance(id).path("state").asText());
    assertFalse(check.isDone(), "the monitor waits while the instance runs");
    assertFalse(Files.exists(rebootLog), "no reboot while the instance runs");

    Monitor.CheckResult r = check.get(3, TimeUnit.MINUTES);
    assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
    assertEquals(
        List.of("OS build-id changed: 'buildos-1' -> 'buildos-2'"), Files.readAllLines(rebootLog));
    JsonNode atReboot = JSON.readTree(snapshot.toFile());
    assertEquals(
        "STOPPED",
        atReboot.path("state").asText(),
        "the instance had ended when the reboot ran: " + atReboot);
    JsonNode last = JSON.readTree(cfg.monitorStateDir().resolve("last-reboot.json").toFile());
    assertTrue(last.path("drain").asText().startsWith("host drained"), last.toString());
  }

  /**
   * The daemon exits (SIGTERM, instances left running as by default) while its instance runs: a
   * change seen then does not reboot; the check is unknown until the daemon is back.
   */
  @Test
  void theRebootWaitsWhileTheDaemonIsDownAndItsInstanceRuns() throws Exception {
    Daemons.docker().close();
    Samples.revision(Samples.CONTAINER);
    Path root = tmp.resolve("build");
    Path state = tmp.resolve("state");
    Files.createDirectories(root.resolve("machines"));
    Files.createDirectories(state);
    copy(Samples.machines().resolve(Samples.CONTAINER), root.resolve("machines"));
    startDaemon(root, state, false);
    String id = startInstance("command: sleep 300\n");
    awaitState(id, "RUNNING", Duration.ofSeconds(90));

    AtomicReference<String> buildId = new AtomicReference<>("buildos-1\n");
    serveBuildId(buildId);
    Path rebootLog = tmp.resolve("reboot.log");
    Path script = tmp.resolve("fake-reboot.sh");
    Files.writeString(
        script, "#!/bin/sh\nprintf '%s\\n' \"$BUILDHOST_REBOOT_REASON\" >> '" + rebootLog + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    flags.put(Setting.ROOT, root.toString());
    flags.put(Setting.STATE_DIR, state.toString());
    flags.put(
        Setting.BUILDID_URL,
        "http://127.0.0.1:" + buildIds.getAddress().getPort() + "/buildos-buildid");
    flags.put(Setting.REBOOT_COMMAND, script.toString());
    flags.put(Setting.DRAIN_TIMEOUT, "10s");
    flags.put(Setting.DRAIN_POLL, "200ms");
    flags.put(Setting.AGENT_MODE, "none");
    Monitor monitor = new Monitor(MonitorConfig.resolve(List.of(ConfigLoader.flags(flags))));
    monitor.start();
    assertTrue(monitor.prepare());

    daemon.destroy();
    assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon exits on SIGTERM");
    assertFalse(Files.exists(state.resolve("api.json")), "the daemon withdrew its address");
    buildId.set("buildos-2\n");
    Monitor.CheckResult r = monitor.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status(), r.message());
    assertTrue(
        r.message()
            .contains(
                "while the daemon is down: no daemon runs (no daemon_url, no api.json), but its"
                    + " guests may still run: its journal "
                    + state.resolve("instances")
                    + " holds 1 instance record(s)"),
        r.message());
    assertFalse(Files.exists(rebootLog), "no reboot while the daemon's instance may run");

    // The next daemon adopts the instance, which ran on without it; its exit then stops it.
    startDaemon(root, state, true);
    assertEquals(
        "RUNNING", instance(id).path("state").asText(), "the instance outlived its daemon");
  }

  /** Serves the OS build id the monitor watches at /buildos-buildid: what {@code buildId} holds. */
  private void serveBuildId(AtomicReference<String> buildId) throws IOException {
    buildIds = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    buildIds.createContext(
        "/buildos-buildid",
        ex -> {
          byte[] b = buildId.get().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
          ex.sendResponseHeaders(200, b.length);
          try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
          }
        });
    buildIds.start();
  }

  private void startDaemon(Path root, Path state, boolean stopInstancesOnExit) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path log = tmp.resolve("daemon.log");
    daemon =
        new ProcessBuilder(
                java.toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.buildhost.manager.cli.BuildhostCommand",
                "daemon",
                "--root",
                root.toString(),
                "--state-dir",
                state.toString(),
                "--listen",
                "127.0.0.1:0",
                "--tftp-listen",
                "off",
                "--tftp-ports",
                "27300-27399",
                "--stop-instances-on-exit",
                String.valueOf(stopInstancesOnExit))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    DaemonEndpoint endpoint =
        DaemonStartup.awaitEndpoint(daemon, state, log, Duration.ofSeconds(60));
    api = endpoint.url();
    token = endpoint.token();
  }

  private static String startBody(String task) {
    String b64 = Base64.getEncoder().encodeToString(task.getBytes(StandardCharsets.UTF_8));
    return "{\"machine\":\""
        + Samples.CONTAINER
        + "\",\"timeoutSeconds\":300,\"files\":{\"task.manifest\":\""
        + b64
        + "\"}}";
  }

  private String startInstance(String task) throws Exception {
    HttpResponse<String> resp = post("/v1/instances", startBody(task));
    assertTrue(
        resp.statusCode() / 100 == 2, "start: HTTP " + resp.statusCode() + " " + resp.body());
    return JSON.readTree(resp.body()).path("id").asText();
  }

  private HttpResponse<String> post(String path, String body)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(api.resolve(path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .timeout(Duration.ofMinutes(2))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> resp =
        http.send(
            HttpRequest.newBuilder(api.resolve(path))
                .header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, resp.statusCode(), path + ": " + resp.body());
    return JSON.readTree(resp.body());
  }

  private JsonNode instance(String id) throws IOException, InterruptedException {
    return get("/v1/instances/" + id);
  }

  private void awaitState(String id, String want, Duration timeout) {
    await("instance " + id + " becoming " + want)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(100))
        .failFast(
            "instance " + id + " stopped before it became " + want,
            () -> !want.equals("STOPPED") && state(id).equals("STOPPED"))
        .until(() -> state(id).equals(want));
  }

  private String state(String id) throws IOException, InterruptedException {
    return instance(id).path("state").asText();
  }

  private void awaitDraining(Duration timeout) {
    await("the monitor making the daemon drain")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> get("/v1/host").path("draining").asBoolean(false));
  }

  private static void copy(Path from, Path intoDir) throws Exception {
    Process p =
        new ProcessBuilder("cp", "-a", from.toString(), intoDir.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cp -a " + from + ": " + out);
  }
}
