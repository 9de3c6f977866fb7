package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Image;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's life cycle against the real daemon and dockerd: the daemon is killed with SIGKILL
 * while a bootstrap container runs. The restarted daemon adopts the container as a plain instance:
 * it runs to its end, but its disk is thrown away, so nothing half-made ever becomes a bootstrapped
 * state, and nothing is left over (no other container, no committed image, no staged state, no
 * port). The next bootstrap publishes, and a build started from its state finds what that bootstrap
 * wrote, not what the interrupted one did.
 */
class DaemonKilledDuringBootstrapIT {

  private static final String MACHINE = Samples.CONTAINER;
  private static final int PORTS = 10;

  /** Marks the disk, then waits for a file "go" on its TFTP port: the test says when it may end. */
  private static final String INTERRUPTED =
      """
      : 1
      mode: bootstrap
      command: mkdir -p $BUILDHOST_PERSIST && touch $BUILDHOST_PERSIST/interrupted
      command: until tftp -g -l go -r go "${BUILDHOST_TFTP%:*}" "${BUILDHOST_TFTP##*:}"; do sleep 1; done
      """;

  private static final String SECOND =
      """
      : 1
      mode: bootstrap
      command: mkdir -p $BUILDHOST_PERSIST && touch $BUILDHOST_PERSIST/second
      """;

  @TempDir Path root;
  private int firstPort;
  private DaemonProcess daemon;

  @BeforeEach
  void setUp() throws Exception {
    Samples.revision(MACHINE);
    try (DockerClient docker = Daemons.docker()) {
      docker.pingCmd().exec();
    }
    Samples.linkTree(
        Samples.machines().resolve(MACHINE), root.resolve("machines").resolve(MACHINE));
    // Toolchain "stable", as the monitor publishes it.
    Path toolchain =
        Files.createDirectories(root.resolve("tftp").resolve("toolchain").resolve("stable"));
    Files.writeString(toolchain.resolve("toolchain.sha256"), "v1  toolchain.tar\n");
    firstPort = 40000 + (int) (Math.random() * 10000);
    daemon = DaemonProcess.onLoopback(root, firstPort, PORTS);
  }

  @AfterEach
  void tearDown() throws Exception {
    daemon.close();
    try (DockerClient docker = Daemons.docker()) {
      for (Container container : daemon.containers(docker)) {
        docker.removeContainerCmd(container.getId()).withForce(true).exec();
      }
      for (Image image : keptImages(docker)) {
        docker.removeImageCmd(image.getId()).withForce(true).exec();
      }
    }
  }

  @Test
  void aBootstrapInterruptedByAKilledDaemonPublishesNothingLeavesNothingAndTheNextOnePublishes()
      throws Exception {
    ApiClient api = daemon.start();
    InstanceView interrupted =
        api.bootstrap(MACHINE, new BootstrapBody(null, 300L, files(INTERRUPTED)));
    DaemonProcess.awaitConsole(
        api, interrupted.id(), "[2/2]"); // the disk is marked; it waits for "go"

    daemon.kill();
    api = daemon.start();

    InstanceView adopted = api.instance(interrupted.id());
    assertEquals(InstanceView.State.RUNNING, adopted.state(), adopted.toString());
    assertEquals(List.of(), api.machine(MACHINE).bootstrapped(), "nothing is published");
    try (DockerClient docker = Daemons.docker()) {
      assertEquals(
          List.of("/buildhost-" + interrupted.id()),
          daemon.containers(docker).stream().map(c -> Arrays.asList(c.getNames()).get(0)).toList(),
          "the bootstrap's container runs on; the one the dead daemon prepared ahead is removed");
    }

    // It runs to a successful end, and still publishes nothing.
    api.putFile(interrupted.id(), "go", Files.writeString(root.resolve("go"), "go\n"));
    InstanceView ended = awaitStopped(api, interrupted.id());
    assertEquals(InstanceView.EndReason.POWEROFF, ended.endReason(), ended.toString());
    assertEquals(0, ended.exitCode(), ended.toString());
    assertEquals("success", result(api, interrupted.id()).status());
    assertEquals(List.of(), api.machine(MACHINE).bootstrapped(), "nothing is published");
    assertNothingLeftOfBootstraps(List.of());
    ApiClient client = api;
    ApiClientException refused =
        assertThrows(
            ApiClientException.class,
            () -> client.start(new StartBody(MACHINE, 60L, files(build()), "required", null)));
    assertEquals(409, refused.status(), refused.getMessage());
    assertTrue(refused.getMessage().contains("bootstrap it first"), refused.getMessage());
    api.delete(interrupted.id());

    // The next bootstrap publishes; a build on its state finds its work, not the interrupted one's.
    InstanceView second =
        awaitStopped(
            api, api.bootstrap(MACHINE, new BootstrapBody(null, 300L, files(SECOND))).id());
    assertTrue(second.message().startsWith("bootstrap published as "), second.toString());
    List<MachineView.BootstrappedView> states = api.machine(MACHINE).bootstrapped();
    assertEquals(1, states.size(), states.toString());
    assertEquals(second.id(), states.get(0).instance());
    assertEquals("current", states.get(0).status());

    InstanceView build = api.start(new StartBody(MACHINE, 120L, files(build()), "required", null));
    assertEquals(states.get(0).id(), build.startedFrom());
    build = awaitStopped(api, build.id());
    ResultManifest built = result(api, build.id());
    assertEquals("success", built.status(), built.log());
    assertTrue(built.logLines().contains("second"), built.log());
    assertFalse(built.logLines().contains("interrupted"), built.log());

    for (InstanceView instance : List.of(second, build)) {
      api.delete(instance.id());
    }
    assertEquals(0, daemon.stop());
    assertNothingLeftOfBootstraps(List.of(states.get(0).image()));
    try (DockerClient docker = Daemons.docker()) {
      assertEquals(List.of(), daemon.containers(docker), "no container is left");
    }
    for (InstanceView instance : List.of(interrupted, second, build)) {
      assertFalse(Files.exists(root.resolve("tftp").resolve(instance.id())));
      assertFalse(Files.exists(root.resolve("instances").resolve(instance.id())));
      assertTrue(
          DaemonProcess.udpPortFree(instance.tftpPort()),
          "port " + instance.tftpPort() + " is free");
    }
  }

  /** The committed images of the root are {@code images}; no state is being assembled. */
  private void assertNothingLeftOfBootstraps(List<String> images) throws IOException {
    try (DockerClient docker = Daemons.docker()) {
      assertEquals(images, keptImages(docker).stream().map(Image::getId).toList());
    }
    Path staging = daemon.stateDir().resolve("bootstrapped").resolve(".staging");
    if (Files.isDirectory(staging)) {
      try (Stream<Path> staged = Files.list(staging)) {
        assertEquals(List.of(), staged.toList(), "no state is left half-made");
      }
    }
  }

  private static String build() {
    return ": 1\ncommand: ls $BUILDHOST_PERSIST\n";
  }

  private static Map<String, String> files(String task) {
    return Map.of(
        "task.manifest", Base64.getEncoder().encodeToString(task.getBytes(StandardCharsets.UTF_8)));
  }

  private static InstanceView awaitStopped(ApiClient api, String id) {
    return Awaitility.await("instance " + id + " stopped")
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> api.instance(id), InstanceView::stopped);
  }

  private static ResultManifest result(ApiClient api, String id) throws IOException {
    try (InputStream in = api.openFile(id, ResultManifest.FILE_NAME)) {
      return ResultManifest.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  private List<Image> keptImages(DockerClient docker) {
    return docker
        .listImagesCmd()
        .withLabelFilter(
            Map.of("dev.buildhost.kept-for", root.toAbsolutePath().normalize().toString()))
        .exec();
  }
}
