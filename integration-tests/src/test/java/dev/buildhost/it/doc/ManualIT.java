package dev.buildhost.it.doc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.it.support.DaemonStartup;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.Samples;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the manual: every {@code sh test} block of {@code doc/**}{@code /*.md} (and of the top
 * README.md), against a real daemon started here on a scratch root holding the sample machines, the
 * real libvirtd, Docker engine and TFTP clients. See doc/README.md, "How this manual is tested",
 * for what a block can rely on.
 */
class ManualIT {

  private static final Duration BLOCK_TIMEOUT = Duration.ofMinutes(4);
  private static final Duration DAEMON_START = Duration.ofSeconds(90);
  private static final String TFTP_PORTS = "10700-10799";

  /**
   * While writing the manual: -Dbuildhost.doc.page=api,cli runs only the pages whose path contains
   * one of them.
   */
  private static final String PAGE_FILTER = System.getProperty("buildhost.doc.page", "");

  /** While writing the manual: -Dbuildhost.doc.keep=true keeps the scratch folder for a look. */
  private static final boolean KEEP = Boolean.getBoolean("buildhost.doc.keep");

  private static Path repo;
  private static Path work;
  private static Path root;
  private static Path stateDir;
  private static Process daemon;
  private static final Map<String, String> environment = new HashMap<>();

  @BeforeAll
  static void startDaemon() throws Exception {
    repo = Samples.repository();
    requireTools();
    Path samples = Samples.dir();
    Samples.revision(Samples.VM);
    Samples.revision(Samples.CONTAINER);
    Daemons.libvirt().close();
    Daemons.docker().close();
    work = Samples.passableByQemu(Files.createTempDirectory("buildhost-manual-"));
    Path launcher = launcher();
    root = work.resolve("root");
    stateDir = root.resolve("state");
    Files.createDirectories(root.resolve("machines"));
    run(work, "cp", "-r", samples.resolve("machines") + "/.", root.resolve("machines").toString());

    Path daemonLog = work.resolve("daemon.log");
    daemon =
        new ProcessBuilder(
                launcher.toString(),
                "daemon",
                "--root",
                root.toString(),
                "--listen",
                "127.0.0.1:0",
                "--tftp-listen",
                "127.0.0.1:0",
                "--tftp-ports",
                TFTP_PORTS,
                "--poweroff-grace",
                "10s",
                // Pages start VMs that find TFTP at 10.0.2.2:PORT (the boot-disk sample has no
                // DHCP client); the bridge mode is BridgeDaemonIT's, HostileGuestIT's and the
                // demo's.
                "--network-mode",
                "user",
                "--stop-instances-on-exit")
            .redirectErrorStream(true)
            .redirectOutput(daemonLog.toFile())
            .start();
    String url = awaitApi(daemonLog);
    String token = Files.readString(stateDir.resolve("api-token")).strip();

    environment.putAll(System.getenv());
    environment.put(
        "PATH", launcher.getParent() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    environment.put("BUILDHOST_ROOT", root.toString());
    environment.put("BUILDHOST_STATE_DIR", stateDir.toString());
    environment.put("BUILDHOST_URL", url);
    environment.put("BUILDHOST_TOKEN", token);
    environment.put("SAMPLES", samples.toString());
    environment.put("REPO", repo.toString());
    environment.put("LC_ALL", "C.UTF-8");
    // The blocks start many short-lived JVMs: C1 only and the serial collector halve their
    // start-up.
    environment.put("BUILDHOST_JAVA_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
  }

  @AfterAll
  static void stopDaemon() throws Exception {
    if (daemon != null) {
      daemon.destroy(); // SIGTERM: with --stop-instances-on-exit it powers off what still runs
      if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
        daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (work != null) {
      removeLeftoverGuests();
      if (KEEP) {
        System.out.println("ManualIT: kept the scratch folder " + work);
      } else {
        run(Path.of("/"), "rm", "-rf", work.toString());
      }
    }
  }

  @TestFactory
  Stream<DynamicNode> manual() throws IOException {
    List<DynamicNode> pages = new ArrayList<>();
    for (ManualPage page : ManualPage.all(repo)) {
      if (page.runnable().isEmpty()
          || List.of(PAGE_FILTER.split(",")).stream().noneMatch(page.name()::contains)) {
        continue;
      }
      pages.add(DynamicContainer.dynamicContainer(page.name(), pageTests(page)));
    }
    return pages.stream();
  }

  /** The blocks of one page in order; after a failure the rest of the page is skipped. */
  private Stream<DynamicNode> pageTests(ManualPage page) throws IOException {
    Path dir = work.resolve("pages").resolve(page.name().replace('/', '_'));
    BlockRunner runner = new BlockRunner(dir, environment, BLOCK_TIMEOUT);
    List<ManualPage.Block> blocks = page.runnable();
    boolean[] failed = {false};
    List<DynamicNode> tests = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      ManualPage.Block block = blocks.get(i);
      boolean last = i == blocks.size() - 1;
      String name = page.name() + ":" + block.line() + ": " + block.firstLine();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                try {
                  Assumptions.assumeFalse(
                      failed[0], "an earlier block of " + page.name() + " failed");
                  failed[0] = true;
                  runBlock(page, block, runner);
                  failed[0] = false;
                } finally {
                  if (last || failed[0]) {
                    runner.close();
                  }
                }
              }));
    }
    return tests.stream();
  }

  private static void runBlock(ManualPage page, ManualPage.Block block, BlockRunner runner)
      throws Exception {
    Instant started = Instant.now();
    BlockRunner.Result result = runner.run(block.text());
    String where = page.name() + ":" + block.line();
    String report =
        "\n--- block ("
            + where
            + ") ---\n"
            + block.text()
            + "--- output ("
            + Duration.between(started, Instant.now()).toMillis()
            + " ms) ---\n"
            + tail(result.output(), 80);
    if (result.timedOut()) {
      fail(
          where + ": the block did not finish within " + BLOCK_TIMEOUT.toSeconds() + " s" + report);
    }
    if (result.exitCode() != 0) {
      fail(where + ": the block exited with " + result.exitCode() + report);
    }
    String missing = ManualPage.missingExpected(block.expected(), result.output());
    if (missing != null) {
      fail(where + ": " + missing + report);
    }
  }

  private static void requireTools() {
    for (String tool :
        List.of("bash", "setsid", "curl", "jq", "tftp", "base64", "systemd-analyze", "java")) {
      Requirement.command(tool);
    }
  }

  /**
   * The {@code buildhost} the blocks run: the repository's bin/buildhost, or, when Maven builds
   * into another folder than target/ (-Dbuildhost.buildDir), a copy of it that runs that folder's
   * jars.
   */
  private static Path launcher() throws IOException {
    String buildDir = System.getProperty("buildhost.buildDir", "target");
    Path jar = repo.resolve("manager").resolve(buildDir).resolve("buildhost-manager.jar");
    if (!Files.isRegularFile(jar)) {
      return Requirement.unmet(jar + " is missing: build it first (mvn -B package -DskipTests)");
    }
    Path original = repo.resolve("bin/buildhost");
    if (buildDir.equals("target")) {
      return original;
    }
    String script = Files.readString(original, StandardCharsets.UTF_8);
    String adapted =
        script
            .replaceFirst("(?m)^here=.*$", "here='" + repo + "'")
            .replace("/target/", "/" + buildDir + "/");
    if (adapted.equals(script) || !adapted.contains("here='" + repo + "'")) {
      throw new IllegalStateException(
          "bin/buildhost has changed shape: cannot point it at " + buildDir);
    }
    Path copy = Files.createDirectories(work.resolve("bin")).resolve("buildhost");
    Files.writeString(copy, adapted, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rwxr-xr-x"));
    return copy;
  }

  /** Waits for the daemon's api.json and checks that it answers; returns the URL. */
  private static String awaitApi(Path log) throws Exception {
    DaemonEndpoint endpoint = DaemonStartup.awaitEndpoint(daemon, stateDir, log, DAEMON_START);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(endpoint.url().resolve("/v1/host"))
                .header("Authorization", "Bearer " + endpoint.token())
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), "GET /v1/host of the test daemon: " + answer.body());
    return endpoint.url().toString();
  }

  /**
   * Guests of every daemon the manual started (found through their journals under the scratch
   * folder) that a failed block left running: removed by their buildhost names.
   */
  private static void removeLeftoverGuests() throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    try (Stream<Path> files = Files.walk(work)) {
      files
          .filter(
              f ->
                  f.getParent() != null
                      && f.getParent().getFileName().toString().equals("instances")
                      && f.getParent().getParent() != null
                      && f.getParent().getParent().getFileName().toString().equals("state")
                      && f.getFileName().toString().endsWith(".json"))
          .forEach(f -> ids.add(f.getFileName().toString().replaceFirst("\\.json$", "")));
    }
    for (String id : ids) {
      quietly("docker", "rm", "-f", "buildhost-" + id);
      quietly("virsh", "-c", Daemons.LIBVIRT_URI, "destroy", "buildhost-" + id);
    }
  }

  private static void quietly(String... command) throws InterruptedException {
    try {
      Process p =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      // the tool is missing: nothing of its kind can be left over
    }
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }

  private static String tail(String text, int lines) {
    List<String> all = text.lines().toList();
    List<String> kept = all.subList(Math.max(0, all.size() - lines), all.size());
    return (all.size() > lines ? "[... " + (all.size() - lines) + " lines before]\n" : "")
        + String.join("\n", kept);
  }
}
