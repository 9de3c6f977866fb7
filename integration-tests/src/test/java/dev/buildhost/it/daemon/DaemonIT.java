package dev.buildhost.it.daemon;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.cli.BuildhostCommand;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import picocli.CommandLine;

/**
 * The daemon as a process, against the real libvirtd and dockerd, with the sample machines: the
 * crash test (SIGKILL while instances run, restart, adoption, results; SIGKILL after they ended,
 * restart, nothing left), bad API input, and the CLI's start --wait.
 */
class DaemonIT {

  private static final int PORTS = 20;

  @TempDir Path root;
  private int firstPort;
  private DaemonProcess daemon;
  private final Set<String> started = new HashSet<>();

  @BeforeEach
  void setUp() throws Exception {
    Samples.passableByQemu(root);
    Samples.revision(Samples.VM);
    Samples.revision(Samples.CONTAINER);
    Daemons.libvirt().close();
    try (DockerClient docker = Daemons.docker()) {
      docker.pingCmd().exec();
    }
    Samples.linkTree(Samples.machines(), root.resolve("machines"));
    firstPort = 40000 + (int) (Math.random() * 10000);
    daemon = DaemonProcess.onLoopback(root, firstPort, PORTS);
  }

  @AfterEach
  void tearDown() throws Exception {
    daemon.close();
    // A failed test must not leave guests behind for the next: remove what this test started.
    Connect libvirt = Daemons.libvirt();
    try (DockerClient docker = Daemons.docker()) {
      for (String id : started) {
        destroyDomain(libvirt, "buildhost-" + id);
      }
      for (Container container : daemon.containers(docker)) {
        docker.removeContainerCmd(container.getId()).withForce(true).exec();
      }
    } finally {
      libvirt.close();
    }
  }

  @Test
  void instancesSurviveADaemonKilledWithSigkillAndNothingLeaks() throws Exception {
    ApiClient api = daemon.start();
    // Each guest's task must outlast the kill and the restart below, which take a while on a
    // loaded machine: the containers start once the slow-booting VMs run their tasks, so that
    // their sleep does not run out while the VMs boot, and the sleep covers the restart.
    List<InstanceView> instances = new ArrayList<>();
    for (List<String> machines :
        List.of(List.of(Samples.VM, Samples.VM), List.of(Samples.CONTAINER, Samples.CONTAINER))) {
      List<InstanceView> batch = new ArrayList<>();
      for (String machine : machines) {
        int n = instances.size() + batch.size();
        batch.add(start(api, machine, TaskManifest.of("sleep 60", "echo done-" + n)));
      }
      for (InstanceView instance : batch) {
        awaitConsole(api, instance.id(), "downloaded task.manifest", Duration.ofMinutes(3));
      }
      instances.addAll(batch);
    }

    daemon.kill();
    Connect libvirt = Daemons.libvirt();
    try (DockerClient docker = Daemons.docker()) {
      assertEquals(
          2,
          instances.stream().filter(i -> domainExists(libvirt, "buildhost-" + i.id())).count(),
          "the VMs run on without the daemon");
      assertEquals(
          2,
          daemon.containers(docker).stream().filter(c -> "running".equals(c.getState())).count(),
          "the containers run on without the daemon");
    } finally {
      libvirt.close();
    }

    api = daemon.start();
    for (InstanceView instance : instances) {
      InstanceView adopted = api.instance(instance.id());
      assertEquals(
          InstanceView.State.RUNNING, adopted.state(), "adopted after the restart: " + adopted);
      assertEquals(instance.tftpPort(), adopted.tftpPort());
    }
    for (int n = 0; n < instances.size(); n++) {
      InstanceView done = awaitStopped(api, instances.get(n).id(), Duration.ofMinutes(3));
      assertEquals(InstanceView.EndReason.POWEROFF, done.endReason(), done.toString());
      ResultManifest result = ResultManifest.parse(read(api, done.id(), ResultManifest.FILE_NAME));
      assertEquals("success", result.status(), result.toString());
      assertEquals(0, result.exitCode());
      assertTrue(result.logLines().contains("done-" + n), result.log());
    }

    daemon.kill();
    api = daemon.start();
    for (InstanceView instance : instances) {
      assertEquals(
          InstanceView.State.STOPPED,
          api.instance(instance.id()).state(),
          "the records stay for the agent");
    }
    assertNothingLeft(instances);
    for (InstanceView instance : instances) {
      api.delete(instance.id());
      assertFalse(
          Files.exists(root.resolve("tftp").resolve(instance.id())), "delete removes the folder");
    }
    assertEquals(List.of(), api.instances());
    assertEquals(0, daemon.stop(), "SIGTERM is a clean exit");
    assertFalse(
        Files.exists(daemon.stateDir().resolve(DaemonEndpoint.ENDPOINT_FILE)),
        "a clean exit withdraws api.json");
  }

  @Test
  void badApiInputIsRefusedWith4xxAndChangesNothing() throws Exception {
    ApiClient api = daemon.start();
    URI url = api.base();
    String token = Files.readString(daemon.stateDir().resolve(DaemonEndpoint.TOKEN_FILE)).strip();
    HttpClient http = HttpClient.newHttpClient();
    String start = "{\"machine\": \"" + Samples.CONTAINER + "\"}";

    assertEquals(401, post(http, url, null, start).statusCode());
    assertEquals(401, post(http, url, "Bearer wrong", start).statusCode());
    HttpResponse<String> unknown =
        post(http, url, "Bearer " + token, "{\"machine\": \"no-such-machine\"}");
    assertEquals(404, unknown.statusCode());
    assertTrue(
        unknown.body().contains("no-such-machine") && unknown.body().contains("\"hint\""),
        unknown.body());
    HttpResponse<String> malformed =
        post(http, url, "Bearer " + token, "{\"machine\": \"sample-container\",");
    assertEquals(400, malformed.statusCode());
    assertTrue(malformed.body().contains("malformed JSON"), malformed.body());
    assertEquals(
        400,
        post(
                http,
                url,
                "Bearer " + token,
                "{\"machine\": \"sample-container\", \"files\": {\"../x\": \"eA==\"}}")
            .statusCode());
    String tooLarge =
        rawStatus(url, token, "POST /v1/instances HTTP/1.1", "Content-Length: " + (200L << 20));
    assertTrue(
        tooLarge.startsWith("HTTP/1.1 413 "),
        tooLarge); // the reason phrase is the server's wording
    assertEquals(List.of(), api.instances(), "no bad request started an instance");

    InstanceView instance = start(api, Samples.CONTAINER, TaskManifest.of("sleep 5"));
    for (String name : List.of("..%2F..%2Fstate%2Fapi-token", "%2E%2E", "a%5Cb", "x%00y")) {
      HttpResponse<String> put =
          http.send(
              HttpRequest.newBuilder(
                      url.resolve("/v1/instances/" + instance.id() + "/files/" + name))
                  .header("Authorization", "Bearer " + token)
                  .PUT(HttpRequest.BodyPublishers.ofString("evil"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(400, put.statusCode(), name + ": " + put.body());
    }
    String bigFile =
        rawStatus(
            url,
            token,
            "PUT /v1/instances/" + instance.id() + "/files/big HTTP/1.1",
            "Content-Length: " + (65L << 20));
    assertTrue(bigFile.startsWith("HTTP/1.1 413 "), bigFile);
    InstanceView stopped = awaitStopped(api, instance.id(), Duration.ofMinutes(2));
    try (Stream<Path> files = Files.list(root.resolve("tftp").resolve(instance.id()))) {
      assertEquals(
          List.of("result.manifest", "task.manifest"),
          files.map(p -> p.getFileName().toString()).sorted().toList(),
          "only the task and the result");
    }
    assertEquals(0, stopped.exitCode());
    assertEquals(1, api.instances().size());
  }

  @Test
  void theCliStartsBothSamplesAtOnceAndWaitsForTheirResults() throws Exception {
    daemon.start();
    Path task =
        Files.writeString(
            root.resolve("task.manifest"), TaskManifest.of("uname -s", "echo from-cli").text());
    Path failing =
        Files.writeString(root.resolve("failing.manifest"), TaskManifest.of("exit 7").text());
    CompletableFuture<String[]> vm =
        CompletableFuture.supplyAsync(
            () ->
                cli(
                    "start",
                    Samples.VM,
                    "--put",
                    "task.manifest=" + task,
                    "--wait",
                    "--timeout",
                    "5m"));
    CompletableFuture<String[]> container =
        CompletableFuture.supplyAsync(
            () ->
                cli(
                    "start",
                    Samples.CONTAINER,
                    "--put",
                    "task.manifest=" + failing,
                    "--wait",
                    "--timeout",
                    "5m"));
    String[] vmRun = vm.get(5, TimeUnit.MINUTES);
    String[] containerRun = container.get(5, TimeUnit.MINUTES);
    assertEquals("0", vmRun[0], String.join("\n", vmRun));
    assertTrue(
        vmRun[1].contains("RUNNING")
            && vmRun[1].contains("FILE_UPLOADED")
            && vmRun[1].contains("worker success, exit code 0"),
        vmRun[1]);
    assertEquals("1", containerRun[0], String.join("\n", containerRun));
    assertTrue(containerRun[1].contains("worker error, exit code 7"), containerRun[1]);
    for (InstanceView instance : ApiClient.forStateDir(daemon.stateDir()).instances()) {
      started.add(instance.id());
    }
  }

  /** Runs the CLI in-process against the daemon: {exit code, stdout, stderr}. */
  private String[] cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = BuildhostCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--state-dir=" + daemon.stateDir());
    int exit = cli.execute(all.toArray(String[]::new));
    return new String[] {String.valueOf(exit), out.toString(), err.toString()};
  }

  private InstanceView start(ApiClient api, String machine, TaskManifest task) {
    InstanceView instance =
        api.start(
            new StartBody(
                machine,
                300L,
                Map.of(
                    TaskManifest.FILE_NAME,
                    Base64.getEncoder()
                        .encodeToString(task.text().getBytes(StandardCharsets.UTF_8)))));
    started.add(instance.id());
    return instance;
  }

  private void assertNothingLeft(List<InstanceView> instances) throws Exception {
    Connect libvirt = Daemons.libvirt();
    try (DockerClient docker = Daemons.docker()) {
      for (InstanceView instance : instances) {
        assertFalse(
            domainExists(libvirt, "buildhost-" + instance.id()), "no domain of " + instance.id());
        assertFalse(
            Files.exists(LaunchSpec.overlayDisk(root.resolve("instances").resolve(instance.id()))),
            "no overlay of " + instance.id());
      }
      assertEquals(
          List.of(),
          daemon.containers(docker).stream().map(Container::getNames).toList(),
          "no containers");
    } finally {
      libvirt.close();
    }
    for (int port = firstPort; port < firstPort + PORTS; port++) {
      try (DatagramSocket socket =
          new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertTrue(socket.isBound());
      } catch (SocketException e) {
        fail("TFTP port " + port + " is still taken after the instances ended: " + e.getMessage());
      }
    }
  }

  private static boolean domainExists(Connect libvirt, String name) {
    try {
      Domain domain = libvirt.domainLookupByName(name);
      domain.free();
      return true;
    } catch (org.libvirt.LibvirtException e) {
      return false;
    }
  }

  private static void destroyDomain(Connect libvirt, String name) {
    try {
      Domain domain = libvirt.domainLookupByName(name);
      domain.destroy();
      domain.free();
    } catch (org.libvirt.LibvirtException e) {
      // gone already
    }
  }

  private static InstanceView awaitStopped(ApiClient api, String id, Duration timeout) {
    return await("instance " + id + " stopped")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> api.instance(id), instance -> instance.state() == InstanceView.State.STOPPED);
  }

  private static void awaitConsole(ApiClient api, String id, String text, Duration timeout) {
    await("'" + text + "' on the console of " + id)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () -> {
              String console = consoleOrNothing(api, id);
              assertTrue(console.contains(text), "console:\n" + console);
            });
  }

  private static String consoleOrNothing(ApiClient api, String id) throws IOException {
    try {
      return read(api, id, null);
    } catch (ApiClientException e) {
      return ""; // no console output yet
    }
  }

  /** A file of the instance folder, or its console log when {@code name} is null. */
  private static String read(ApiClient api, String id, String name) throws IOException {
    try (InputStream in = name == null ? api.openConsole(id, false) : api.openFile(id, name)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      in.transferTo(bytes);
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  private static HttpResponse<String> post(
      HttpClient http, URI url, String authorization, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url.resolve("/v1/instances"))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends only a request head (a body is announced, never sent) and returns the status line. */
  private static String rawStatus(URI url, String token, String requestLine, String header)
      throws IOException {
    try (Socket socket = new Socket(url.getHost(), url.getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          (requestLine
                  + "\r\nHost: localhost\r\nAuthorization: Bearer "
                  + token
                  + "\r\n"
                  + header
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(socket.getInputStream().readNBytes(64), StandardCharsets.US_ASCII)
          .lines()
          .findFirst()
          .orElse("");
    }
  }
}
