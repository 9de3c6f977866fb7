package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient.Request;
import com.github.dockerjava.transport.DockerHttpClient.Response;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.manager.docker.transport.UnixSocketTransport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One contract, run against the real engine through each HTTP transport docker-java can be given:
 * the daemon's own over the JDK's unix-domain sockets, and the one docker-java ships (which the
 * daemon keeps for an engine over TCP). Every call the daemon makes has its kind here: a plain
 * answer, an error, a body streamed up, a raw stream attached, stdin handed over, an event stream
 * closed by the caller.
 */
class EngineTransportContractIT {

  private static final String ENGINE = "/var/run/docker.sock";
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  private static final String IMAGE = "buildhost-it/transport-contract:" + RUN;

  enum Transport {
    JDK_UNIX_SOCKETS,
    DOCKER_JAVA_ZERODEP;

    DockerHttpClient open() {
      return switch (this) {
        case JDK_UNIX_SOCKETS -> new UnixSocketTransport(Path.of(ENGINE));
        case DOCKER_JAVA_ZERODEP ->
            new ZerodepDockerHttpClient.Builder()
                .dockerHost(URI.create("unix://" + ENGINE))
                .build();
      };
    }
  }

  private static DockerClient engine;
  private final List<String> containers = new ArrayList<>();
  private final List<String> images = new ArrayList<>();
  private DockerClient docker;

  @BeforeAll
  static void importBusybox() throws Exception {
    engine = Daemons.docker();
    try (DockerHttpClient http = Transport.DOCKER_JAVA_ZERODEP.open()) {
      importImage(http, IMAGE);
    }
  }

  @AfterAll
  static void removeBusybox() throws IOException {
    if (engine != null) {
      Daemons.removeImage(engine, IMAGE);
      engine.close();
    }
  }

  @AfterEach
  void removeWhatTheTestMade() throws IOException {
    containers.forEach(id -> engine.removeContainerCmd(id).withForce(true).exec());
    images.forEach(tag -> Daemons.removeImage(engine, tag));
    if (docker != null) {
      docker.close();
    }
  }

  private DockerClient client(DockerHttpClient http) {
    DockerClientConfig config =
        DefaultDockerClientConfig.createDefaultConfigBuilder()
            .withDockerHost("unix://" + ENGINE)
            .build();
    docker = DockerClientImpl.getInstance(config, http);
    return docker;
  }

  /** `docker import` of a busybox root file system, its tar streamed as the request body. */
  private static String importImage(DockerHttpClient http, String tag) throws IOException {
    int colon = tag.lastIndexOf(':');
    Request request =
        Request.builder()
            .method(Request.Method.POST)
            .path(
                "/images/create?fromSrc=-&repo="
                    + tag.substring(0, colon)
                    + "&tag="
                    + tag.substring(colon + 1))
            .putHeader("Content-Type", "application/x-tar")
            .body(new ByteArrayInputStream(ContainerFixtures.busyboxRootfs(Map.of())))
            .build();
    try (Response response = http.execute(request)) {
      String answer = new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(200, response.getStatusCode(), answer);
      assertTrue(answer.contains("sha256:"), answer);
      return answer;
    }
  }

  private String container(String script, boolean stdin) {
    String id =
        docker
            .createContainerCmd(IMAGE)
            .withCmd("/bin/sh", "-c", script)
            .withStdinOpen(stdin)
            .withAttachStdin(stdin)
            .withLabels(Map.of("buildhost-it.transport-contract", RUN))
            .exec()
            .getId();
    containers.add(id);
    return id;
  }

  /** The frames of an attachment, as "STDOUT: text" lines. */
  private static final class Output extends ResultCallback.Adapter<Frame> {
    private final StringBuilder text = new StringBuilder(); // read after awaitCompletion

    @Override
    public void onNext(Frame frame) {
      text.append(frame.getStreamType())
          .append(": ")
          .append(new String(frame.getPayload(), StandardCharsets.UTF_8));
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void aPlainAnswerIsReadWhole(Transport transport) throws IOException {
    try (DockerHttpClient http = transport.open();
        Response response =
            http.execute(Request.builder().method(Request.Method.GET).path("/_ping").build())) {
      assertEquals(200, response.getStatusCode());
      assertEquals("OK", new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
      assertTrue(
          response.getHeader("api-version").matches("1\\.\\d+"), response.getHeaders().toString());
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anErrorOfTheEngineReachesTheCallerWithTheEnginesMessage(Transport transport) {
    DockerClient docker = client(transport.open());

    NotFoundException e =
        assertThrows(
            NotFoundException.class,
            () -> docker.inspectContainerCmd("buildhost-it-no-such-" + RUN).exec());

    assertTrue(e.getMessage().contains("No such container"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void aBodyStreamedUpIsImported(Transport transport) throws IOException {
    String tag =
        "buildhost-it/transport-import:"
            + RUN
            + "-"
            + transport.name().toLowerCase(java.util.Locale.ROOT);
    images.add(tag);

    try (DockerHttpClient http = transport.open()) {
      importImage(http, tag);
    }

    assertEquals(List.of(tag), engine.inspectImageCmd(tag).exec().getRepoTags());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anAttachedContainersOutputArrivesAsFramesAndItsExitCodeAfter(Transport transport)
      throws Exception {
    DockerClient docker = client(transport.open());
    String id = container("echo out; echo err >&2; exit 3", false);
    Output output = new Output();

    docker
        .attachContainerCmd(id)
        .withStdOut(true)
        .withStdErr(true)
        .withFollowStream(true)
        .exec(output)
        .awaitStarted();
    docker.startContainerCmd(id).exec();

    assertTrue(
        output.awaitCompletion(30, TimeUnit.SECONDS), "the attachment ended with the container");
    assertTrue(output.text.toString().contains("STDOUT: out\n"), output.text.toString());
    assertTrue(output.text.toString().contains("STDERR: err\n"), output.text.toString());
    assertEquals(3, docker.waitContainerCmd(id).start().awaitStatusCode(30, TimeUnit.SECONDS));
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void stdinWrittenToAnAttachedContainerReachesIt(Transport transport) throws Exception {
    DockerClient docker = client(transport.open());
    String id = container("read line; echo \"got $line\"", true);
    Output output = new Output();
    try (PipedOutputStream stdin = new PipedOutputStream()) {
      docker
          .attachContainerCmd(id)
          .withStdOut(true)
          .withFollowStream(true)
          .withStdIn(new PipedInputStream(stdin))
          .exec(output)
          .awaitStarted();
      docker.startContainerCmd(id).exec();
      stdin.write("hello\n".getBytes(StandardCharsets.UTF_8));
      stdin.flush();

      assertTrue(
          output.awaitCompletion(30, TimeUnit.SECONDS), "the container read a line and ended");
    }
    assertEquals("STDOUT: got hello\n", output.text.toString());
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anArchiveGoesInAsAStreamAndComesBackOut(Transport transport) throws Exception {
    DockerClient docker = client(transport.open());
    String id = container("true", false);
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    byte[] content = "x".repeat(100_000).getBytes(StandardCharsets.UTF_8);
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
      TarArchiveEntry entry = new TarArchiveEntry("file");
      entry.setSize(content.length);
      out.putArchiveEntry(entry);
      out.write(content);
      out.closeArchiveEntry();
    }

    docker
        .copyArchiveToContainerCmd(id)
        .withRemotePath("/tmp")
        .withTarInputStream(new ByteArrayInputStream(tar.toByteArray()))
        .exec();

    try (InputStream back = docker.copyArchiveFromContainerCmd(id, "/tmp/file").exec();
        TarArchiveInputStream in = new TarArchiveInputStream(back)) {
      assertEquals("file", in.getNextEntry().getName());
      assertEquals(content.length, in.readAllBytes().length);
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anEventStreamDeliversUntilItsCallerClosesItAndThenEnds(Transport transport)
      throws Exception {
    DockerClient docker = client(transport.open());
    List<String> actions = new CopyOnWriteArrayList<>();
    CountDownLatch created = new CountDownLatch(1);
    ResultCallback.Adapter<Event> events =
        new ResultCallback.Adapter<>() {
          @Override
          public void onNext(Event event) {
            actions.add(event.getAction());
            created.countDown();
          }
        };
    docker
        .eventsCmd()
        .withLabelFilter(Map.of("buildhost-it.transport-contract", RUN))
        .exec(events)
        .awaitStarted();

    container("true", false);
    assertTrue(created.await(30, TimeUnit.SECONDS), "the create event arrived");
    events.close();

    assertTrue(events.awaitCompletion(5, TimeUnit.SECONDS), "the stream ended once closed");
    assertEquals(List.of("create"), actions);
  }
}
