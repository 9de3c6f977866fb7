package dev.buildhost.it.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramSocket;
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
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor serving two toolchains, stable and staging, named on the kernel command line as Build
 * OS names them, next to a real daemon (its own JVM) whose read-only TFTP server serves {@code
 * <root>/tftp}: both toolchains are published where machines fetch them over TFTP, under the id the
 * contract of doc/monitor.md gives (the SHA-256 of {@code toolchain/<name>/toolchain.sha256}), each
 * gets its own agent process told its name and id, and a change of either drains the daemon and
 * runs the reboot command (a script that records the reason and the daemon's drain state).
 */
class MonitorToolchainsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> NAMES = List.of("stable", "staging");

  @TempDir Path tmp;
  private Process daemon;
  private HttpServer files;
  private final Map<String, byte[]> served = new ConcurrentHashMap<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private URI api;
  private String token;

  @AfterEach
  void stop() throws Exception {
    if (files != null) {
      files.stop(0);
    }
    if (daemon != null && daemon.isAlive()) {
      daemon.destroy();
      if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
        daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void bothArePublishedWithTheirIdsGetAnAgentEachAndEitherChangeDrainsAndReboots()
      throws Exception {
    Daemons.docker().close();
    Path curl = Requirement.command("curl");
    Path root = tmp.resolve("build");
    Path state = tmp.resolve("state");
    Files.createDirectories(root.resolve("machines"));
    Files.createDirectories(state);
    int tftpPort = freeUdpPort();
    startDaemon(root, state, tftpPort);
    serveFiles();
    for (String name : NAMES) {
      serveToolchain(name, name + " v1");
    }

    Path rebootLog = tmp.resolve("reboot.log");
    Path hostAtReboot = tmp.resolve("host-at-reboot.json");
    Path script = tmp.resolve("fake-reboot.sh");
    Files.writeString(
        script,
        "#!/bin/sh\n"
            + curl
            + " -sS -H \"Authorization: Bearer $(cat '"
            + state.resolve("api-token")
            + "')\" '"
            + api.resolve("/v1/host")
            + "' > '"
            + hostAtReboot
            + "'\n"
            + "printf '%s\\n' \"$BUILDHOST_REBOOT_REASON\" >> '"
            + rebootLog
            + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path agentLog = tmp.resolve("agents.log");

    String base = "http://127.0.0.1:" + files.getAddress().getPort();
    String cmdline =
        "quiet buildos.toolchain_url.stable="
            + base
            + "/stable/toolchain.sha256 buildos.toolchain_url.staging="
            + base
            + "/staging/toolchain.sha256 -- init-arg";
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    flags.put(Setting.ROOT, root.toString());
    flags.put(Setting.STATE_DIR, state.toString());
    flags.put(Setting.REBOOT_COMMAND, script.toString());
    flags.put(Setting.DRAIN_TIMEOUT, "1m");
    flags.put(Setting.DRAIN_POLL, "200ms");
    flags.put(Setting.AGENT_MODE, "process");
    flags.put(
        Setting.AGENT_COMMAND,
        "printf '%s %s\\n' {toolchain} \"$BUILDHOST_TOOLCHAIN_ID\" >> '"
            + agentLog
            + "'; exec sleep 600");
    Path cmdlineFile = tmp.resolve("cmdline");
    Files.writeString(cmdlineFile, cmdline + "\n");
    MonitorConfig cfg = ConfigLoader.load(emptyConfigFile(), cmdlineFile, flags);
    assertEquals(List.of(), cfg.warnings());

    List<String> expectedReasons = new ArrayList<>();
    List<String> expectedAgents = new ArrayList<>();
    int version = 2;
    for (String changed : NAMES) {
      try (Monitor monitor = new Monitor(cfg)) {
        monitor.start();
        assertTrue(monitor.prepare(), "both toolchains bootstrapped, both agents started");
        for (String name : NAMES) {
          String id = Checksums.sha256(served.get("/" + name + "/toolchain.sha256"));
          assertEquals(id, monitor.published(name).toolchainId());
          byte[] overTftp = tftpGet(curl, tftpPort, "toolchain/" + name + "/toolchain.sha256");
          assertEquals(
              id,
              Checksums.sha256(overTftp),
              "the daemon serves toolchain " + name + " over TFTP under its id");
          assertEquals(
              new String(served.get("/" + name + "/toolchain.tar"), StandardCharsets.UTF_8),
              new String(
                  tftpGet(curl, tftpPort, "toolchain/" + name + "/toolchain.tar"),
                  StandardCharsets.UTF_8),
              "its own files");
          expectedAgents.add(name + " " + id);
        }
        Awaitility.await("both agents")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    Files.exists(agentLog)
                        && Files.readAllLines(agentLog).size() == expectedAgents.size());
        assertEquals(
            expectedAgents.stream().sorted().toList(),
            Files.readAllLines(agentLog).stream().sorted().toList(),
            "one agent per toolchain, told its name and id");
        assertEquals(Monitor.Status.UNCHANGED, monitor.check().status());

        String before = monitor.published(changed).toolchainId();
        serveToolchain(changed, changed + " v" + version);
        String after = Checksums.sha256(served.get("/" + changed + "/toolchain.sha256"));
        Monitor.CheckResult r = monitor.check();
        assertEquals(Monitor.Status.REBOOTING, r.status(), r.message());
        expectedReasons.add(
            "toolchain "
                + changed
                + ": checksum file "
                + base
                + "/"
                + changed
                + "/toolchain.sha256 changed: id "
                + before
                + " -> "
                + after);
        assertEquals(expectedReasons, Files.readAllLines(rebootLog));
        JsonNode host = JSON.readTree(hostAtReboot.toFile());
        assertTrue(
            host.path("draining").asBoolean(false),
            "the daemon was drained when the reboot command ran: " + host);
      }
      // The host "came back": the daemon serves again, and the next monitor starts over.
      assertEquals(200, send("DELETE", "/v1/host/drain").statusCode());
      version++;
    }
  }

  /** The monitor reads /etc/buildhost/monitor.conf when given none: point it at an empty file. */
  private Path emptyConfigFile() throws IOException {
    Path f = tmp.resolve("monitor.conf");
    Files.writeString(f, "# empty\n");
    return f;
  }

  private void serveToolchain(String name, String content) {
    byte[] tar = content.getBytes(StandardCharsets.UTF_8);
    served.put("/" + name + "/toolchain.tar", tar);
    served.put(
        "/" + name + "/toolchain.sha256",
        (Checksums.sha256(tar) + "  toolchain.tar\n").getBytes(StandardCharsets.UTF_8));
  }

  private void serveFiles() throws IOException {
    files = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    files.createContext(
        "/",
        ex -> {
          byte[] b = served.get(ex.getRequestURI().getPath());
          if (b == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
          }
          ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
          ex.sendResponseHeaders(200, b.length);
          try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
          }
        });
    files.start();
  }

  private static int freeUdpPort() throws IOException {
    try (DatagramSocket s =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      return s.getLocalPort();
    }
  }

  /** A file of the daemon's read-only TFTP root, fetched by a real TFTP client (curl). */
  private static byte[] tftpGet(Path curl, int port, String path) throws Exception {
    Process p =
        new ProcessBuilder(
                curl.toString(), "-sS", "--max-time", "30", "tftp://127.0.0.1:" + port + "/" + path)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "curl tftp " + path);
    assertEquals(0, p.exitValue(), "curl tftp://127.0.0.1:" + port + "/" + path);
    return out;
  }

  private void startDaemon(Path root, Path state, int tftpPort) throws Exception {
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
                "127.0.0.1:" + tftpPort,
                "--tftp-ports",
                "27400-27419")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    Path apiJson = state.resolve("api.json");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(apiJson)) {
      if (!daemon.isAlive() || System.nanoTime() > deadline) {
        fail(
            "the daemon did not write "
                + apiJson
                + " (alive: "
                + daemon.isAlive()
                + "); its log:\n"
                + Files.readString(log));
      }
      Thread.sleep(100);
    }
    api = URI.create(JSON.readTree(apiJson.toFile()).path("url").asText());
    token = Files.readString(state.resolve("api-token")).strip();
  }

  private HttpResponse<String> send(String method, String path)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(api.resolve(path))
            .header("Authorization", "Bearer " + token)
            .timeout(Duration.ofSeconds(30))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
