package dev.buildhost.manager.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The API over real HTTP, against a real InstanceManager (guests from {@code WorkerBackend}). */
class ApiServerTest {

  private static final long JSON_LIMIT = 4096;
  private static final long FILE_LIMIT = 8192;

  @TempDir static Path root;
  static Daemon daemon;
  static String token;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws IOException {
    daemon = TestDaemons.start(root, new ApiServer.Limits(JSON_LIMIT, FILE_LIMIT));
    token = Files.readString(root.resolve("state/api-token")).strip();
  }

  @AfterAll
  static void stop() {
    daemon.close();
  }

  static HttpResponse<String> send(String method, String path, String body, String bearer)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(daemon.url().resolve(path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> send(String method, String path, String body) throws Exception {
    return send(method, path, body, token);
  }

  /**
   * Asserts an error answer: the status, JSON with the error naming {@code mention}, and a hint.
   */
  static JsonNode assertError(HttpResponse<String> response, int status, String mention)
      throws IOException {
    assertEquals(status, response.statusCode(), response.body());
    assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(""));
    JsonNode error = Json.MAPPER.readTree(response.body());
    assertTrue(
        error.path("error").asText().contains(mention),
        "error should mention '" + mention + "': " + error);
    assertFalse(error.path("hint").asText().isBlank(), "an error needs a hint: " + error);
    return error;
  }

  static String startBody(String task) {
    String files =
        task == null
            ? "{}"
            : "{\"task.manifest\": \""
                + Base64.getEncoder().encodeToString(task.getBytes(StandardCharsets.UTF_8))
                + "\"}";
    return "{\"machine\": \""
        + TestDaemons.MACHINE
        + "\", \"timeoutSeconds\": 60, \"files\": "
        + files
        + "}";
  }

  static Instance startInstance(String task) throws Exception {
    HttpResponse<String> response = send("POST", "/v1/instances", startBody(task));
    assertEquals(201, response.statusCode(), response.body());
    Instance instance = Json.MAPPER.readValue(response.body(), Instance.class);
    assertEquals(
        "/v1/instances/" + instance.id(), response.headers().firstValue("Location").orElse(""));
    return instance;
  }

  static Instance awaitStopped(String id) {
    return awaitState(id, InstanceState.STOPPED);
  }

  static Instance awaitState(String id, InstanceState state) {
    return await("instance " + id + " " + state)
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                Json.MAPPER.readValue(
                    send("GET", "/v1/instances/" + id, null).body(), Instance.class),
            instance -> instance.state() == state);
  }

  static List<Instance> instances() throws Exception {
    return Json.MAPPER.readValue(
        send("GET", "/v1/instances", null).body(), new TypeReference<>() {});
  }

  /**
   * Every file under the root except the journal, which the manager rewrites as instances change.
   */
  static List<String> tree() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files
          .map(p -> root.relativize(p).toString())
          .filter(p -> !p.startsWith("state"))
          // A running guest's console log appears whenever its guest first writes to it.
          .filter(p -> !p.endsWith("console.log"))
          .sorted()
          .toList();
    }
  }

  @Test
  void aMissingOrWrongTokenIs401AndChangesNothing() throws Exception {
    List<String> before = tree();
    assertError(send("GET", "/v1/instances", null, null), 401, "missing bearer token");
    assertError(
        send("POST", "/v1/instances", startBody("command: true\n"), "not-the-token"),
        401,
        "wrong bearer token");
    assertError(send("POST", "/v1/host/drain", null, token + "x"), 401, "wrong bearer token");
    HttpResponse<String> response = send("GET", "/v1/host", null, null);
    assertEquals(
        "Bearer realm=\"buildhost\"", response.headers().firstValue("WWW-Authenticate").orElse(""));
    assertEquals(before, tree());
    assertFalse(
        Json.MAPPER.readTree(send("GET", "/v1/host", null).body()).path("draining").asBoolean());
  }

  @Test
  void metricsNeedNoTokenAndUseTheTextFormat() throws Exception {
    HttpResponse<String> response = send("GET", "/metrics", null, null);
    assertEquals(200, response.statusCode());
    assertTrue(
        response
            .headers()
            .firstValue("Content-Type")
            .orElse("")
            .startsWith("text/plain; version=0.0.4"));
    assertTrue(response.body().contains("# TYPE buildhost_instances gauge"), response.body());
    assertTrue(response.body().contains("buildhost_instances{state=\"RUNNING\"}"), response.body());
  }

  @Test
  void unknownEndpointsAndMethodsAreRefusedWithJson() throws Exception {
    assertError(send("GET", "/v1/nothing", null), 404, "no such endpoint: GET /v1/nothing");
    assertError(send("GET", "/", null), 404, "no such endpoint");
    HttpResponse<String> response = send("PATCH", "/v1/instances", "{}");
    assertError(response, 405, "PATCH is not allowed");
    assertEquals("GET, POST", response.headers().firstValue("Allow").orElse(""));
    assertEquals("HTTP/1.1 400 Bad Request", raw("GET /v1/instances/%zz HTTP/1.1"));
  }

  @Test
  void machinesShowRevisionsAndTheOneInService() throws Exception {
    List<MachineView> machines =
        Json.MAPPER.readValue(send("GET", "/v1/machines", null).body(), new TypeReference<>() {});
    MachineView machine =
        machines.stream()
            .filter(m -> m.name().equals(TestDaemons.MACHINE))
            .findFirst()
            .orElseThrow();
    assertEquals("1.0", machine.inService());
    assertEquals(1, machine.revisions().size());
    assertTrue(machine.revisions().get(0).inService());
    assertEquals("image.tar", machine.revisions().get(0).manifest().image());
    MachineView one =
        Json.MAPPER.readValue(
            send("GET", "/v1/machines/" + TestDaemons.MACHINE, null).body(), MachineView.class);
    assertEquals(machine, one);
    assertError(send("GET", "/v1/machines/no-such-machine", null), 404, "no-such-machine");
  }

  @Test
  void badStartRequestsAre4xxAndStartNothing() throws Exception {
    List<String> before = tree();
    int instances = instances().size();
    assertError(
        send("POST", "/v1/instances", "{\"machine\": \"no-such-machine\"}"),
        404,
        "no-such-machine");
    assertError(send("POST", "/v1/instances", "{\"machine\": "), 400, "malformed JSON");
    assertError(send("POST", "/v1/instances", "[1, 2]"), 400, "malformed JSON");
    assertError(send("POST", "/v1/instances", "null"), 400, "JSON null");
    assertError(send("POST", "/v1/instances", ""), 400, "empty");
    assertError(
        send("POST", "/v1/instances", "{\"machin\": \"x\"}"), 400, "unknown field 'machin'");
    assertError(
        send("POST", "/v1/instances", "{\"timeoutSeconds\": 5}"), 400, "'machine' is missing");
    assertError(
        send(
            "POST",
            "/v1/instances",
            "{\"machine\": \"" + TestDaemons.MACHINE + "\", \"timeoutSeconds\": -1}"),
        400,
        "timeoutSeconds must be positive");
    assertError(
        send(
            "POST",
            "/v1/instances",
            "{\"machine\": \""
                + TestDaemons.MACHINE
                + "\", \"files\": {\"task.manifest\": \"%%%\"}}"),
        400,
        "not valid base64");
    assertError(
        send(
            "POST",
            "/v1/instances",
            "{\"machine\": \"" + TestDaemons.MACHINE + "\", \"files\": {\"../escape\": \"eA==\"}}"),
        400,
        "bad file name '../escape'");
    assertError(
        send(
            "POST",
            "/v1/instances",
            "{\"machine\": \""
                + TestDaemons.MACHINE
                + "\", \"files\": {\"x\": \""
                + "A".repeat((int) JSON_LIMIT)
                + "\"}}"),
        413,
        "over the limit of 4096 bytes");
    assertEquals(instances, instances().size());
    assertEquals(before, tree());
  }

  /** Sends a request head as written (no client-side checks) and returns the status line. */
  static String raw(String requestLine, String... headers) throws IOException {
    try (Socket socket = new Socket(daemon.url().getHost(), daemon.url().getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      StringBuilder head =
          new StringBuilder(
              requestLine + "\r\nHost: localhost\r\nAuthorization: Bearer " + token + "\r\n");
      for (String header : headers) {
        head.append(header).append("\r\n");
      }
      out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      return in.readLine();
    }
  }

  /** The status code of a raw status line; the reason phrase is the server's wording. */
  static void assertStatusLine(int status, String statusLine) {
    assertTrue(statusLine != null && statusLine.startsWith("HTTP/1.1 " + status + " "), statusLine);
  }

  @Test
  void aBodyDeclaredTooLargeIsRefusedBeforeItIsSent() throws Exception {
    Instance instance = startInstance(null);
    assertStatusLine(
        413,
        raw(
            "PUT /v1/instances/" + instance.id() + "/files/big HTTP/1.1",
            "Content-Length: 1000000000"));
    assertFalse(Files.exists(root.resolve("tftp").resolve(instance.id()).resolve("big")));
    assertEquals(
        200, send("POST", "/v1/instances/" + instance.id() + "/terminate", null).statusCode());
    awaitStopped(instance.id());
  }

  @Test
  void anInstanceRunsItsTaskAndKeepsItsResultUntilDeleted() throws Exception {
    Instance started = startInstance("command: true\n");
    assertEquals(TestDaemons.MACHINE, started.machine());
    assertEquals("1.0", started.revision());
    Instance stopped = awaitStopped(started.id());
    assertEquals(0, stopped.exitCode());

    List<FileEntry> files =
        Json.MAPPER.readValue(
            send("GET", "/v1/instances/" + started.id() + "/files", null).body(),
            new TypeReference<>() {});
    assertEquals(
        List.of("result.manifest", "task.manifest"),
        files.stream().map(FileEntry::name).sorted().toList());
    String result =
        send("GET", "/v1/instances/" + started.id() + "/files/result.manifest", null).body();
    assertTrue(result.contains("status: success"), result);
    String console = send("GET", "/v1/instances/" + started.id() + "/console", null).body();
    assertTrue(console.contains("fake worker: done, exit code 0"), console);

    assertEquals(204, send("DELETE", "/v1/instances/" + started.id(), null).statusCode());
    assertError(send("GET", "/v1/instances/" + started.id(), null), 404, started.id());
    assertError(send("DELETE", "/v1/instances/" + started.id(), null), 404, started.id());
    assertFalse(Files.exists(root.resolve("tftp").resolve(started.id())));
  }

  @Test
  void filesArePutAndReadBackAndHostileNamesAreRefused() throws Exception {
    Instance instance = startInstance(null);
    String base = "/v1/instances/" + instance.id() + "/files/";
    assertEquals(204, send("PUT", base + "notes.txt", "hello").statusCode());
    assertEquals("hello", send("GET", base + "notes.txt", null).body());
    assertError(send("GET", base + "missing", null), 404, "missing");
    assertError(
        send("PUT", "/v1/instances/no-such-instance/files/x", "x"), 404, "no-such-instance");

    List<String> before = tree();
    for (String name :
        List.of(
            "..",
            "%2E%2E",
            "..%2Fescape",
            "a%2Fb",
            "a/b",
            "../../escape",
            "a%5Cb",
            "x%00y",
            "%0A",
            ".")) {
      assertEquals(400, send("PUT", base + name, "evil").statusCode(), name);
    }
    assertError(send("GET", base + "..%2F..%2Fstate%2Fapi-token", null), 400, "bad file name");
    assertEquals(before, tree());

    assertEquals(204, send("PUT", base + "task.manifest", "command: true\n").statusCode());
    assertEquals(0, awaitStopped(instance.id()).exitCode());
  }

  @Test
  void aFileOverTheLimitIsRefusedAndLeavesNothing() throws Exception {
    Instance instance = startInstance(null);
    String base = "/v1/instances/" + instance.id() + "/files/";
    List<String> before = tree();
    assertError(
        send("PUT", base + "big", "x".repeat((int) FILE_LIMIT + 1)),
        413,
        "over the limit of 8192 bytes");
    // Without a Content-Length (chunked), the limit is found while reading.
    HttpRequest chunked =
        HttpRequest.newBuilder(daemon.url().resolve(base + "big"))
            .header("Authorization", "Bearer " + token)
            .PUT(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new java.io.ByteArrayInputStream(new byte[(int) FILE_LIMIT * 2])))
            .build();
    assertError(http.send(chunked, HttpResponse.BodyHandlers.ofString()), 413, "over the limit");
    assertEquals(before, tree());
    assertEquals(204, send("PUT", base + "big", "x".repeat((int) FILE_LIMIT)).statusCode());
    assertEquals(204, send("PUT", base + "task.manifest", "command: true\n").statusCode());
    awaitStopped(instance.id());
  }

  @Test
  void aRunningInstanceCannotBeDeletedButCanBePoweredOffOrTerminated() throws Exception {
    Instance a = startInstance("command: sleep\n");
    Instance b = startInstance("command: sleep\n");
    assertError(send("DELETE", "/v1/instances/" + a.id(), null), 409, a.id());
    assertEquals(200, send("POST", "/v1/instances/" + a.id() + "/poweroff", null).statusCode());
    assertEquals(200, send("POST", "/v1/instances/" + b.id() + "/terminate", null).statusCode());
    awaitStopped(a.id());
    Instance killed = awaitStopped(b.id());
    assertNotNull(killed.endReason());
    assertEquals(204, send("DELETE", "/v1/instances/" + a.id(), null).statusCode());
    assertEquals(204, send("DELETE", "/v1/instances/" + b.id(), null).statusCode());
    assertError(send("POST", "/v1/instances/no-such/poweroff", null), 404, "no-such");
  }

  @Test
  void drainingRefusesStartsWith503UntilItEnds() throws Exception {
    JsonNode host = Json.MAPPER.readTree(send("POST", "/v1/host/drain", null).body());
    assertTrue(host.path("draining").asBoolean());
    try {
      int instances = instances().size();
      JsonNode error =
          assertError(send("POST", "/v1/instances", startBody("command: true\n")), 503, "draining");
      assertFalse(error.path("hint").asText().isEmpty());
      assertEquals(instances, instances().size());
      assertTrue(
          Json.MAPPER.readTree(send("GET", "/v1/host", null).body()).path("draining").asBoolean());
    } finally {
      host = Json.MAPPER.readTree(send("DELETE", "/v1/host/drain", null).body());
    }
    assertFalse(host.path("draining").asBoolean());
    awaitStopped(startInstance("command: true\n").id());
  }

  @Test
  void theHostShowsCapacityAndVersions() throws Exception {
    HostInfo host = Json.MAPPER.readValue(send("GET", "/v1/host", null).body(), HostInfo.class);
    assertEquals(4, host.capacity().maxInstances());
    assertEquals(1024, host.capacity().ramBudgetMib());
    assertEquals("tcg", host.acceleration());
    assertTrue(host.versions().containsKey("java"), host.versions().toString());
    assertEquals(root.toString(), host.root());
  }

  @Test
  void aJournalThatCannotBeWrittenShowsInTheHostAndTheMetrics() throws Exception {
    Instance instance = startInstance("command: sleep\n");
    // Its start's records are written by then: none can make the folder again while it is away.
    awaitState(instance.id(), InstanceState.RUNNING);
    Path journal = root.resolve("state/instances");
    Path aside = root.resolve("state/instances.aside");
    Files.move(journal, aside);
    try {
      Files.writeString(journal, "not a folder: every journal write fails, as on a full disk");
      assertEquals(
          200, send("POST", "/v1/instances/" + instance.id() + "/terminate", null).statusCode());
      awaitStopped(instance.id());
      HostInfo host = Json.MAPPER.readValue(send("GET", "/v1/host", null).body(), HostInfo.class);
      assertEquals(1, host.journal().unwrittenRecords());
      assertTrue(host.journal().failedWrites() >= 2, host.journal().toString());
      assertTrue(
          host.journal().lastError().contains("cannot write the journal record"),
          host.journal().toString());
      assertNotNull(host.journal().lastErrorAt());
      String metrics = send("GET", "/metrics", null, null).body();
      assertTrue(metrics.contains("\nbuildhost_journal_unwritten_records 1\n"), metrics);
      assertTrue(metrics.contains("\nbuildhost_journal_write_failures_total "), metrics);
    } finally {
      Files.delete(journal);
      restoreJournal(aside, journal);
    }
    Awaitility.await("the record is written once the journal works")
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                Json.MAPPER
                        .readValue(send("GET", "/v1/host", null).body(), HostInfo.class)
                        .journal()
                        .unwrittenRecords()
                    == 0);
    assertEquals(204, send("DELETE", "/v1/instances/" + instance.id(), null).statusCode());
  }

  /**
   * Puts the journal folder back. The journal's retry may have made the folder again the moment the
   * file in its way went: then the records set aside join it, and a record it wrote since wins.
   */
  private static void restoreJournal(Path aside, Path journal) throws IOException {
    try {
      Files.move(aside, journal);
      return;
    } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
      // made again by the retry: merge below
    }
    try (Stream<Path> records = Files.list(aside)) {
      for (Path record : records.toList()) {
        Path target = journal.resolve(record.getFileName());
        if (!Files.exists(target)) {
          Files.move(record, target);
        }
      }
    }
    try (Stream<Path> left = Files.list(aside)) {
      for (Path record : left.toList()) {
        Files.delete(record);
      }
    }
    Files.delete(aside);
  }

  @Test
  void theEventStreamCarriesAnInstancesLifeInOrder() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(daemon.url().resolve("/v1/events"))
            .header("Authorization", "Bearer " + token)
            .build();
    HttpResponse<InputStream> response =
        http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    assertEquals(
        "text/event-stream; charset=utf-8",
        response.headers().firstValue("Content-Type").orElse(""));
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      Instance instance = startInstance("command: false\n");
      List<String> kinds = new ArrayList<>();
      String kind = null;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("event: ")) {
          kind = line.substring(7);
        } else if (line.startsWith("data: ")) {
          InstanceEvent event = Json.MAPPER.readValue(line.substring(6), InstanceEvent.class);
          assertEquals(kind, event.kind().name());
          if (event.instance().id().equals(instance.id())) {
            kinds.add(kind);
            if (event.kind() == InstanceEvent.Kind.STOPPED) {
              assertEquals(3, event.instance().exitCode());
              break;
            }
          }
        }
      }
      assertEquals(List.of("CREATED", "RUNNING", "STOPPED"), kinds);
    }
  }

  @Test
  void theConsoleCanBeFollowedUntilTheInstanceStops() throws Exception {
    Instance instance = startInstance("command: sleep\n");
    HttpRequest request =
        HttpRequest.newBuilder(
                daemon.url().resolve("/v1/instances/" + instance.id() + "/console?follow=true"))
            .header("Authorization", "Bearer " + token)
            .build();
    CompletableFuture<HttpResponse<String>> follow =
        http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    // Nothing is awaited here: the test is that the follow stays open for a window while the
    // instance runs.
    Thread.sleep(300);
    assertFalse(follow.isDone(), "following must go on while the instance runs");
    send("POST", "/v1/instances/" + instance.id() + "/poweroff", null);
    HttpResponse<String> response = follow.get(20, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    assertTrue(response.body().contains("fake worker: downloaded task.manifest"), response.body());
    assertError(
        send("GET", "/v1/instances/" + instance.id() + "/console?follow=maybe", null),
        400,
        "follow=maybe");
  }

  @Test
  void metricsCountStartsAndRefusals() throws Exception {
    String before = send("GET", "/metrics", null, null).body();
    awaitStopped(startInstance("command: true\n").id());
    send("POST", "/v1/instances", "{\"machine\": \"no-such-machine\"}");
    String after = send("GET", "/metrics", null, null).body();
    assertEquals(
        counter(before, "buildhost_instance_starts_total") + 1,
        counter(after, "buildhost_instance_starts_total"));
    assertTrue(
        counter(after, "buildhost_instance_start_failures_total{reason=\"NOT_FOUND\"}") >= 1,
        after);
    assertTrue(counter(after, "buildhost_api_responses_total{status=\"201\"}") >= 1, after);
  }

  static long counter(String metrics, String name) {
    return metrics
        .lines()
        .filter(l -> l.startsWith(name + " "))
        .mapToLong(l -> Long.parseLong(l.substring(name.length() + 1)))
        .findFirst()
        .orElse(0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/instances/x/files", "/v1/instances/x", "/v1/instances/x/console"})
  void unknownInstancesAre404(String path) throws Exception {
    assertError(send("GET", path, null), 404, "x");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/fleet/hosts", "/v1/fleet/instances", "/v1/fleet/reboots"})
  void theFleetsRoutesAre404OutsideAFleet(String path) throws Exception {
    assertError(send("GET", path, null), 404, "this daemon is in no fleet");
  }
}
