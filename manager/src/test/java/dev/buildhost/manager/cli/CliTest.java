package dev.buildhost.manager.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.api.Json;
import dev.buildhost.manager.daemon.ApiCredentials;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.Setting;
import dev.buildhost.manager.daemon.TestDaemons;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI run in-process against a live API server (guests from the test WorkerBackend). */
class CliTest {

  @TempDir static Path root;
  @TempDir Path work;
  static Daemon daemon;

  /** What one run of the CLI did. */
  record Run(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    daemon = TestDaemons.start(root, ApiServer.Limits.DEFAULT);
  }

  @AfterAll
  static void stop() {
    daemon.close();
  }

  static Run run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    if (all.size() > 0 && !all.contains("--state-dir")) {
      all.add(1, "--state-dir=" + root.resolve("state"));
    }
    return runExactly(all.toArray(String[]::new));
  }

  static Run runExactly(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = BuildhostCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  Path task(String text) throws Exception {
    Path file = Files.createTempFile(work, "task", ".manifest");
    Files.writeString(file, text);
    return file;
  }

  @Test
  void listShowsTheMachinesInAnAlignedTableOrJson() throws Exception {
    Run run = run("list");
    assertEquals(0, run.exit(), run.toString());
    List<String> lines = run.out().lines().toList();
    assertTrue(
        lines
            .get(0)
            .startsWith("MACHINE      TYPE    IN SERVICE  REVISIONS  PROBLEMS  BOOTSTRAPPED"),
        run.out());
    assertTrue(lines.get(1).startsWith("fake-worker  docker  1.0         1          -"), run.out());
    JsonNode json = Json.MAPPER.readTree(run("list", "--json").out());
    assertEquals("fake-worker", json.get(0).path("name").asText());
    assertEquals("1.0", json.get(0).path("inService").asText());
  }

  @Test
  void imagesAndImageStatus() {
    Run images = run("list-images");
    assertEquals(0, images.exit(), images.toString());
    assertTrue(images.out().contains("fake-worker-1.0  fake-worker  docker  yes"), images.out());
    Run status = run("image-status", "fake-worker");
    assertEquals(0, status.exit(), status.toString());
    assertTrue(status.out().contains("in service: fake-worker-1.0"), status.out());
    assertTrue(status.out().contains("image:      image.tar"), status.out());
    Run missing = run("image-status", "no-such-machine");
    assertEquals(ExitCode.NOT_FOUND, missing.exit(), missing.toString());
    assertTrue(missing.err().contains("no-such-machine"), missing.err());
    assertTrue(missing.err().contains("hint: "), missing.err());
  }

  @Test
  void startWaitPrintsTheStateChangesAndExitsWithTheWorkersStatus() throws Exception {
    Run ok =
        run(
            "start",
            "fake-worker",
            "--put",
            "task.manifest=" + task("command: true\n"),
            "--wait",
            "--timeout",
            "1m");
    assertEquals(0, ok.exit(), ok.toString());
    assertTrue(ok.out().contains(" started fake-worker-"), ok.out());
    assertTrue(ok.out().contains("RUNNING"), ok.out());
    assertTrue(ok.out().contains("STOPPED"), ok.out());
    assertTrue(ok.out().contains("worker success, exit code 0"), ok.out());

    Run failed =
        run("start", "fake-worker", "--put", "task.manifest=" + task("command: false\n"), "--wait");
    assertEquals(ExitCode.FAILED, failed.exit(), failed.toString());
    assertTrue(failed.out().contains("worker error, exit code 3"), failed.out());

    Run json =
        run(
            "start",
            "fake-worker",
            "--put",
            "task.manifest=" + task("command: true\n"),
            "--wait",
            "--json");
    assertEquals(0, json.exit(), json.toString());
    JsonNode result = Json.MAPPER.readTree(json.out());
    assertEquals("success", result.path("result").path("status").asText());
    assertEquals("STOPPED", result.path("instance").path("state").asText());
    assertTrue(result.path("succeeded").asBoolean());
  }

  @Test
  void anInstanceCanBeDrivenVerbByVerb() throws Exception {
    Run start = run("start", "fake-worker");
    assertEquals(0, start.exit(), start.toString());
    String id = start.out().strip();
    assertTrue(id.startsWith("fake-worker-"), id);

    Run show = run("show", id);
    assertTrue(show.out().contains("Id=" + id + "\n"), show.out());
    assertTrue(show.out().contains("Machine=fake-worker\n"), show.out());
    assertTrue(show.out().contains("Keep=no\nKept=\n"), "started without --keep: " + show.out());
    assertTrue(run("instances").out().contains(id), "instances lists it");
    assertEquals("fake-worker\n", run("show", "-p", "Machine", "--value", id).out());
    assertEquals(
        "Id=" + id + "\nMachine=fake-worker\n",
        run("show", "--property", "Machine", "-p", "Id", id).out(),
        "the properties come in their usual order, as machinectl shows them");
    Run noSuchProperty = run("show", "-p", "Colour", id);
    assertEquals(ExitCode.USAGE, noSuchProperty.exit(), noSuchProperty.toString());
    assertTrue(
        noSuchProperty
            .err()
            .contains("--property Colour: no such property; the properties are Id, Machine"),
        noSuchProperty.err());

    Run copyTo = run("copy-to", id, task("command: sleep\n").toString(), "task.manifest");
    assertEquals(0, copyTo.exit(), copyTo.toString());
    Run status = run("status", id);
    assertTrue(status.out().contains("task.manifest"), status.out());

    Run deleteRunning = run("delete", id);
    assertEquals(ExitCode.CONFLICT, deleteRunning.exit(), deleteRunning.toString());
    assertTrue(deleteRunning.err().contains(id), deleteRunning.err());

    Path copy = work.resolve("copy");
    Run copyFrom = run("copy-from", id, "task.manifest", copy.toString());
    assertEquals(0, copyFrom.exit(), copyFrom.toString());
    assertEquals("command: sleep\n", Files.readString(copy));
    Run missingFile = run("copy-from", id, "result.manifest", work.resolve("r").toString());
    assertEquals(ExitCode.NOT_FOUND, missingFile.exit(), missingFile.toString());
    assertFalse(Files.exists(work.resolve("r")));
    try (var files = Files.list(work)) {
      assertFalse(
          files.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no partial file stays");
    }

    // The worker fetches its task on its own schedule: power it off only once it has.
    Awaitility.await("the worker downloads its task")
        .atMost(Duration.ofSeconds(30))
        .until(() -> run("logs", id).out().contains("fake worker: downloaded task.manifest"));
    Run poweroff = run("poweroff", id, "no-such-instance");
    assertEquals(ExitCode.NOT_FOUND, poweroff.exit(), poweroff.toString());
    assertTrue(poweroff.out().contains(id + ": powering off"), poweroff.out());
    assertTrue(poweroff.err().contains("no-such-instance"), poweroff.err());

    Run logs = run("logs", "-f", id);
    assertEquals(0, logs.exit(), logs.toString());
    assertTrue(logs.out().contains("fake worker: downloaded task.manifest"), logs.out());

    assertTrue(run("show", id).out().contains("State=STOPPED\n"));
    Run delete = run("delete", id);
    assertEquals(0, delete.exit(), delete.toString());
    assertEquals(ExitCode.NOT_FOUND, run("status", id).exit());
    assertEquals(ExitCode.NOT_FOUND, run("terminate", id).exit());
  }

  @Test
  void eventsPrintsOneLinePerEventUntilTheDaemonStops(@TempDir Path otherRoot) throws Exception {
    Daemon other = TestDaemons.start(otherRoot, ApiServer.Limits.DEFAULT);
    String state = "--state-dir=" + otherRoot.resolve("state");
    java.util.concurrent.CompletableFuture<Run> events =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> runExactly("events", state));
    java.util.concurrent.CompletableFuture<Run> json =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> runExactly("events", "--json", state));
    awaitEventStreams(other, 2);
    Run start =
        runExactly(
            "start",
            TestDaemons.MACHINE,
            "--put",
            "task.manifest=" + task("command: true\n"),
            "--wait",
            state);
    assertEquals(0, start.exit(), start.toString());
    other.close();
    Run lines = events.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(0, lines.exit(), lines.toString());
    assertTrue(
        lines
            .out()
            .lines()
            .anyMatch(l -> l.matches("\\d\\d:\\d\\d:\\d\\d  CREATED +fake-worker-.*")),
        lines.out());
    assertTrue(lines.out().contains("STOPPED (POWEROFF, exit 0)"), lines.out());
    assertTrue(lines.err().contains("the daemon closed the event stream"), lines.err());
    List<String> kinds = new ArrayList<>();
    for (String line : json.get(30, java.util.concurrent.TimeUnit.SECONDS).out().lines().toList()) {
      kinds.add(Json.MAPPER.readTree(line).path("kind").asText());
    }
    assertEquals(List.of("CREATED", "RUNNING", "STOPPED"), kinds);
  }

  /** Waits (bounded) until the daemon counts {@code n} clients on its event stream. */
  static void awaitEventStreams(Daemon daemon, int n) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String line = "buildhost_event_streams " + n;
    await(n + " event stream clients")
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () ->
                http.send(
                        java.net.http.HttpRequest.newBuilder(daemon.url().resolve("/metrics"))
                            .build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString())
                    .body()
                    .lines()
                    .anyMatch(line::equals));
  }

  @Test
  void hostShowsAndDrains() throws Exception {
    Run host = run("host");
    assertEquals(0, host.exit(), host.toString());
    assertTrue(host.out().contains("acceleration: tcg"), host.out());
    assertTrue(host.out().contains("draining:     no"), host.out());
    assertTrue(host.out().contains("journal:      ok"), host.out());
    Run drain = run("host", "--drain", "--json");
    assertTrue(Json.MAPPER.readTree(drain.out()).path("draining").asBoolean(), drain.out());
    try {
      Run refused = run("start", "fake-worker");
      assertEquals(ExitCode.UNAVAILABLE, refused.exit(), refused.toString());
      assertTrue(refused.err().contains("draining"), refused.err());
    } finally {
      run("host", "--undrain");
    }
    assertTrue(run("host").out().contains("draining:     no"));
    assertEquals(ExitCode.USAGE, run("host", "--drain", "--undrain").exit());
  }

  @Test
  void anUnreachableDaemonIsExit4WithWhatToDo() throws Exception {
    Run none = runExactly("list", "--state-dir", work.resolve("empty").toString());
    assertEquals(ExitCode.UNREACHABLE, none.exit(), none.toString());
    assertTrue(none.err().contains("start it with `buildhost daemon`"), none.err());

    Path state = work.resolve("stale");
    ApiCredentials.token(state);
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    ApiCredentials.publish(state, URI.create("http://127.0.0.1:" + port));
    Run stale = runExactly("host", "--state-dir", state.toString());
    assertEquals(ExitCode.UNREACHABLE, stale.exit(), stale.toString());
    assertTrue(
        stale
            .err()
            .contains(
                "cannot reach the buildhost daemon at http://127.0.0.1:"
                    + port
                    + ": start it with `buildhost daemon`"),
        stale.err());
  }

  @Test
  void aWrongTokenIsExit4() throws Exception {
    Path state = work.resolve("wrong-token");
    ApiCredentials.token(state);
    ApiCredentials.publish(state, daemon.url());
    Run run = runExactly("list", "--state-dir", state.toString());
    assertEquals(ExitCode.UNREACHABLE, run.exit(), run.toString());
    assertTrue(run.err().contains("wrong bearer token"), run.err());
  }

  @Test
  void usageErrorsAreExit2() throws Exception {
    assertEquals(ExitCode.USAGE, run("start").exit());
    Run put = run("start", "fake-worker", "--put", "task.manifest");
    assertEquals(ExitCode.USAGE, put.exit(), put.toString());
    assertTrue(put.err().contains("expected NAME=FILE"), put.err());
    Run missing = run("start", "fake-worker", "--put", "t=" + work.resolve("absent"));
    assertEquals(ExitCode.USAGE, missing.exit(), missing.toString());
    assertTrue(missing.err().contains("is not a readable file"), missing.err());
    Run timeout = run("start", "fake-worker", "--timeout", "soon");
    assertEquals(ExitCode.USAGE, timeout.exit(), timeout.toString());
    assertTrue(timeout.err().contains("not a duration"), timeout.err());
    assertEquals(ExitCode.USAGE, runExactly("no-such-verb").exit());
    Run badName = run("copy-to", "x", task("x").toString(), "../escape");
    assertTrue(
        badName.exit() == ExitCode.USAGE || badName.exit() == ExitCode.NOT_FOUND,
        badName.toString());
  }

  @Test
  void everyVerbsHelpHasAnExampleAndTheExitCodes() {
    CommandLine cli = BuildhostCommand.commandLine();
    int verbs = 0;
    Map<String, CommandLine> all = new LinkedHashMap<>(cli.getSubcommands());
    // The fleet's verbs (buildhost fleet hosts...) too.
    cli.getSubcommands()
        .get("fleet")
        .getSubcommands()
        .forEach((name, sub) -> all.put("fleet " + name, sub));
    for (var entry : all.entrySet()) {
      if (entry.getKey().equals("help") || entry.getKey().equals("tftp")) {
        continue; // picocli's own help verb; tftp belongs to the TFTP module
      }
      String usage = entry.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF);
      assertTrue(usage.contains("Example"), entry.getKey() + " has no example:\n" + usage);
      assertTrue(
          usage.contains("Exit codes:") && usage.contains("4  the daemon cannot be reached"),
          entry.getKey() + " lists no exit codes:\n" + usage);
      verbs++;
    }
    assertEquals(24, verbs);
  }

  @Test
  void theDaemonWarnsOfAnOldDashedKeyWithFileAndLine() throws Exception {
    Path conf = work.resolve("daemon.conf");
    Files.writeString(
        conf, "root = " + work.resolve("r") + "\nmax-instances = 2\nlisten = 127.0.0.1:nonsense\n");
    Run run = runExactly("daemon", "--config", conf.toString());
    assertEquals(ExitCode.USAGE, run.exit(), run.toString());
    assertTrue(
        run.err()
            .startsWith(
                "buildhost daemon: warning: "
                    + conf
                    + ":2: 'max-instances' is the old spelling; write 'max_instances'\n"),
        run.err());
    assertTrue(
        run.err().contains("'listen' in " + conf + ": '127.0.0.1:nonsense' is not a valid value"),
        run.err());
  }

  @Test
  void everyDaemonSettingButTheFleetsIsAFlag() {
    CommandLine daemonCli = BuildhostCommand.commandLine().getSubcommands().get("daemon");
    for (Setting setting : Setting.values()) {
      if (setting.isFleet()) {
        assertNull(daemonCli.getCommandSpec().findOption(setting.flag()), setting.flag());
      } else {
        assertNotNull(daemonCli.getCommandSpec().findOption(setting.flag()), setting.flag());
      }
    }
  }

  @Test
  void theCompletionScriptInDocIsCurrent() throws Exception {
    Run run = runExactly("generate-completion");
    assertEquals(0, run.exit());
    assertTrue(run.out().contains("copy-from"), "completes the verbs");
    Path committed = Path.of("..", "doc", "cli", "buildhost-completion.bash");
    assertEquals(
        run.out(),
        Files.readString(committed),
        "doc/cli/buildhost-completion.bash is stale: bin/buildhost generate-completion > doc/cli/buildhost-completion.bash");
  }

  @Test
  void bothLaunchersRunEveryClientVerbAndNoOtherFromTheCliJar() throws Exception {
    Set<String> clientVerbs = new TreeSet<>(BuildhostCommand.VERBS.keySet());
    clientVerbs.removeAll(List.of("help", "generate-completion", "daemon", "tftp"));
    for (Path launcher :
        List.of(
            Path.of("..", "bin", "buildhost"),
            Path.of("..", "packaging", "src", "deb", "bin", "buildhost"))) {
      // The case pattern after "# The client verbs" (continued over lines), up to its ")".
      String text = Files.readString(launcher).replace("\\\n", "");
      Matcher pattern =
          Pattern.compile("# \\(CliTest checks the list\\)\\.?\\n\\s*([^)]*)\\)").matcher(text);
      assertTrue(pattern.find(), launcher + " has the client verbs' case");
      Set<String> listed = new TreeSet<>();
      for (String alternative : pattern.group(1).split("\\|")) {
        listed.add(alternative.trim().replaceFirst("^\\*:", ""));
      }
      assertEquals(clientVerbs, listed, launcher + ": the verbs run from the cli jar");
    }
  }

  @Test
  void everyVerbHasHelpAndVersionInheritedFromTheTopCommand() {
    for (String verb : BuildhostCommand.commandLine().getSubcommands().keySet()) {
      if (verb.equals("help")) {
        continue; // picocli's help verb takes a verb name, not options
      }
      Run help = runExactly(verb, "--help");
      assertEquals(0, help.exit(), verb + ": " + help);
      assertTrue(help.out().startsWith("Usage: buildhost " + verb), verb + ": " + help);
      Run version = runExactly(verb, "--version");
      assertEquals(0, version.exit(), verb + ": " + version);
      assertTrue(version.out().startsWith("buildhost "), verb + " --version: " + version);
    }
  }

  @Test
  void picocliMapsWhatAVerbThrowsToTheDocumentedExitCode() {
    ExitCode codes = new ExitCode();
    assertEquals(ExitCode.NOT_FOUND, codes.getExitCode(new ApiClientException(404, "x", null)));
    assertEquals(
        ExitCode.USAGE,
        codes.getExitCode(new CommandLine.ParameterException(BuildhostCommand.commandLine(), "x")));
    assertEquals(ExitCode.FAILED, codes.getExitCode(new IllegalStateException("a bug")));
    Run unreachable = runExactly("instances", "--state-dir", work.resolve("nowhere").toString());
    assertEquals(ExitCode.UNREACHABLE, unreachable.exit(), unreachable.toString());
    assertTrue(
        unreachable.err().startsWith("buildhost instances: cannot reach the buildhost daemon"),
        unreachable.err());
    assertTrue(
        unreachable.err().contains("\n  hint: start it with `buildhost daemon`"),
        unreachable.err());
    assertFalse(unreachable.err().contains("\tat "), "no stack trace: " + unreachable.err());
  }

  @Test
  void exitCodesFollowTheHttpStatus() {
    assertEquals(ExitCode.UNREACHABLE, ExitCode.of(new ApiClientException(0, "x", null)));
    assertEquals(ExitCode.UNREACHABLE, ExitCode.of(new ApiClientException(401, "x", null)));
    assertEquals(ExitCode.USAGE, ExitCode.of(new ApiClientException(413, "x", null)));
    assertEquals(ExitCode.NOT_FOUND, ExitCode.of(new ApiClientException(404, "x", null)));
    assertEquals(ExitCode.CONFLICT, ExitCode.of(new ApiClientException(409, "x", null)));
    assertEquals(ExitCode.UNAVAILABLE, ExitCode.of(new ApiClientException(503, "x", null)));
    assertEquals(ExitCode.FAILED, ExitCode.of(new ApiClientException(500, "x", null)));
  }

  @Test
  void theWorkersResultIsReadFromItsManifestHead() {
    assertEquals(
        new WorkerResult("success", 0),
        WorkerResult.parse(": 1\nstatus: success\nexit-code: 0\nlog:\\\nstatus: error\n\\\n"));
    assertEquals(
        new WorkerResult("error", 2), WorkerResult.parse(": 1\nstatus: error\nexit-code: 2\n"));
    assertFalse(WorkerResult.parse(": 1\nstatus: error\nexit-code: 2\n").succeeded());
    assertFalse(WorkerResult.parse("status: success\nexit-code: 1\n").succeeded());
    assertFalse(WorkerResult.parse("garbage").succeeded());
    assertEquals(
        new WorkerResult("abnormal", null), WorkerResult.parse("status: abnormal\nexit-code: x\n"));
  }
}
