package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.buildhost.it.container.DockerBackendContainerIT.Recorder;
import dev.buildhost.it.container.DockerBackendContainerIT.Stopped;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.docker.ImageLoader;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.GuestNetwork;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.manager.network.NetworkException;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containers of the real Docker backend on a bridge network of the test's own (bridge {@code
 * bhcb0}, tables {@code buildhost_cb}, ports {@code nb*}, subnet 196.254.114.0/24 with room for one
 * guest): no host network, a veth into the container's namespace with its address, its TFTP at the
 * host address, port 69; and its port, rules and DHCP entry gone after its end and after a start
 * whose network could not be made.
 */
class BridgeContainerIT {

  private static final GuestNetwork SETTINGS =
      GuestNetwork.of(
          "bridge",
          "bhcb0",
          "196.254.114.222",
          24,
          "196.254.114.10",
          "196.254.114.10",
          "buildhost_cb",
          "nb",
          false);

  private static DockerClient docker;

  @TempDir Path root;

  private BridgeNetwork network;
  private DockerBackend backend;

  @BeforeAll
  static void requirements() {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("the bridge container test makes a bridge and nftables tables: as root");
    }
    for (String tool : List.of("ip", "bridge", "nft", "dnsmasq", "nsenter")) {
      Requirement.command(tool);
    }
    docker = Daemons.docker();
  }

  @AfterAll
  static void disconnect() throws IOException {
    if (docker != null) {
      docker.close();
    }
  }

  @BeforeEach
  void open() throws Exception {
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    network = BridgeNetwork.open(SETTINGS, root.resolve("state/network"), new HostCommands());
    backend =
        new DockerBackend(
            ContainerFixtures.config(root, 4, Duration.ofSeconds(2)), Optional.of(network));
  }

  @AfterEach
  void close() throws Exception {
    backend.close();
    ContainerFixtures.removeContainers(docker, root);
    network.shutDown();
  }

  @Test
  void aContainerGetsItsOwnPortAndAddressReachesItsTftpAtPort69AndLosesThemWhenReleased()
      throws Exception {
    Path folder = Files.createDirectories(root.resolve("tftp/c1"));
    // The sleep keeps the container (and with it its end of the link) while the port is checked.
    TaskManifest.of("ip -4 -o address show dev eth0", "echo endpoint=$BUILDHOST_TFTP", "sleep 3")
        .writeTo(folder);
    try (TftpServer tftp = server(folder)) {
      LaunchSpec spec = spec("c1", ContainerFixtures.sample(), tftp.port());
      Recorder recorder = new Recorder();
      Guest guest = backend.launch(spec, recorder);
      InspectContainerResponse container =
          docker.inspectContainerCmd(DockerBackend.containerName("c1")).exec();
      assertEquals("none", container.getHostConfig().getNetworkMode());
      assertEquals(Set.of("c1"), network.firewall().instanceIds());
      assertEquals(1, network.links().ports().size());
      recorder.awaitStopped();

      ResultManifest result = ResultManifest.read(folder.resolve(ResultManifest.FILE_NAME));
      assertEquals("success", result.status(), result::log);
      assertTrue(result.log().contains("inet 196.254.114.10/24"), result::log);
      assertTrue(result.log().contains("endpoint=196.254.114.222:69"), result::log);

      guest.release();
      assertNothingOfTheGuestLeft();
    }
  }

  @Test
  void theSampleWorkerWaitsForItsAddressBeforeItsFirstTransfer() throws Exception {
    Path folder = Files.createDirectories(root.resolve("tftp/w1"));
    TaskManifest.of("echo worker-ran").writeTo(folder);
    // The repository's worker (not the one built into the sample image) in a busybox image.
    Revision worker =
        ContainerFixtures.ownMachine(
            root.resolve("machines"),
            "worker",
            "image.tar",
            "/bin/busybox sh -c \"/bin/busybox --install -s /bin; exec sh /worker.sh\"");
    String tag = ImageLoader.tagFor(worker);
    ContainerFixtures.write(
        worker.file("image.tar"),
        ContainerFixtures.busyboxRootfs(
            Map.of(
                "worker.sh",
                Files.readString(Samples.repository().resolve("scripts/samples/worker.sh")))));
    try (TftpServer tftp = server(folder)) {
      LaunchSpec spec = spec("w1", worker, tftp.port());
      Recorder recorder = new Recorder();
      Guest guest = backend.launch(spec, recorder);
      try {
        assertEquals(new Stopped(EndReason.POWEROFF, 0), recorder.awaitStopped());
        String console = Files.readString(spec.consoleLog());
        assertTrue(console.contains("TFTP endpoint 196.254.114.222:69"), console);
        assertFalse(console.contains("failed"), "a transfer before the address came: " + console);
        ResultManifest result = ResultManifest.read(folder.resolve(ResultManifest.FILE_NAME));
        assertTrue(result.logLines().contains("worker-ran"), result::log);
      } finally {
        guest.release();
        Daemons.removeImage(docker, tag);
      }
    }
    assertNothingOfTheGuestLeft();
  }

  @Test
  void aStartWhoseNetworkCannotBeMadeFailsRemovesItsContainerAndLeavesNothing() throws Exception {
    Revision sleeper = ContainerFixtures.sampleRunning("sleep 1000");
    Guest first = backend.launch(spec("s1", sleeper, 1), new Recorder());
    try {
      BackendException e =
          assertThrows(
              BackendException.class, () -> backend.launch(spec("s2", sleeper, 2), new Recorder()));
      assertTrue(e.getMessage().contains("network port"), e.getMessage());
      assertTrue(e.getCause() instanceof NetworkException, e.toString());
      assertEquals(
          List.of(),
          ContainerFixtures.containersOf(docker, root, "s2"),
          "the container of the failed start");
      assertEquals(Set.of("s1"), network.firewall().instanceIds());
      assertEquals(1, network.links().ports().size());
    } finally {
      first.release();
    }
    assertNothingOfTheGuestLeft();
  }

  private void assertNothingOfTheGuestLeft() throws Exception {
    assertEquals(List.of(), network.links().ports(), "ports left");
    assertEquals(Set.of(), network.firewall().instanceIds(), "rules left");
    assertEquals(List.of(), network.dnsmasq().readHosts(), "DHCP entries left");
    assertEquals(Optional.empty(), network.addressOf("c1").map(InetAddress::getHostAddress));
  }

  /** An instance's writable server on the host address, as the daemon's are in bridge mode. */
  private static TftpServer server(Path folder) throws IOException {
    return TftpServer.builder(folder)
        .bindAddress(SETTINGS.hostAddress())
        .port(0)
        .writable(true)
        .build()
        .start();
  }

  private LaunchSpec spec(String id, Revision revision, int tftpPort) {
    return new LaunchSpec(id, revision, root.resolve("instances").resolve(id), tftpPort);
  }
}
