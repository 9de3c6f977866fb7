package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 item 2 against the real daemon and dockerd: the journal records of two running
 * containers are damaged while the daemon is down. The restarted daemon shows both as UNKNOWN and
 * destroys nothing: one guest goes on, fetches what it waits for from its TFTP port and uploads its
 * result; the other is terminated by the operator; delete then removes each with its folders and
 * record and frees its port.
 */
class UnreadableRecordIT {

  private static final int PORTS = 10;

  /** Waits for a file "go" on its TFTP port, then ends: the test says when it may go on. */
  private static final TaskManifest WAIT_FOR_GO =
      TaskManifest.of(
          "until tftp -g -l go -r go \"${BUILDHOST_TFTP%:*}\" \"${BUILDHOST_TFTP##*:}\"; do sleep 1; done",
          "cat go");

  @TempDir Path root;
  private int firstPort;
  private DaemonProcess daemon;

  @BeforeEach
  void setUp() throws Exception {
    Samples.revision(Samples.CONTAINER);
    try (DockerClient docker = Daemons.docker()) {
      docker.pingCmd().exec();
    }
    Samples.linkTree(
        Samples.machines().resolve(Samples.CONTAINER),
        root.resolve("machines").resolve(Samples.CONTAINER));
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
    }
  }

  @Test
  void unreadableRecordsKeepTheirGuestsFoldersAndPortsUntilTheOperatorDeletesThem()
      throws Exception {
    ApiClient api = daemon.start();
    InstanceView finishing = start(api);
    InstanceView terminated = start(api);
    for (InstanceView instance : List.of(finishing, terminated)) {
      DaemonProcess.awaitConsole(api, instance.id(), "downloaded task.manifest");
    }

    daemon.kill();
    Path journal = daemon.stateDir().resolve("instances");
    for (InstanceView instance : List.of(finishing, terminated)) {
      Path record = journal.resolve(instance.id() + ".json");
      String text = Files.readString(record);
      Files.writeString(record, text.substring(0, text.length() / 2)); // a torn record
    }

    api = daemon.start();
    for (InstanceView instance : List.of(finishing, terminated)) {
      InstanceView unknown = api.instance(instance.id());
      assertEquals(InstanceView.State.UNKNOWN, unknown.state(), unknown.toString());
      assertTrue(
          unknown
              .message()
              .contains(journal.resolve(instance.id() + ".json.bad") + " cannot be read"),
          unknown.message());
      assertEquals(instance.tftpPort(), unknown.tftpPort(), "the port it had");
      assertNull(unknown.stoppedAt(), "its guest may run");
      assertTrue(unknown.guestMayRun());
      assertFalse(DaemonProcess.udpPortFree(instance.tftpPort()), "its port is held and served");
      assertTrue(Files.isDirectory(root.resolve("tftp").resolve(instance.id())));
    }
    try (DockerClient docker = Daemons.docker()) {
      assertEquals(2, running(docker), "no guest was removed as an orphan");
    }

    // The build goes on: the guest gets what it waited for and uploads its result.
    Path go = Files.writeString(root.resolve("go"), "go on\n");
    api.putFile(finishing.id(), "go", go);
    ApiClient client = api;
    String result =
        Awaitility.await("the result of the guest whose record is unreadable")
            .atMost(Duration.ofMinutes(2))
            .pollInterval(Duration.ofMillis(250))
            .until(
                () -> DaemonProcess.readOrNull(client, finishing.id(), ResultManifest.FILE_NAME),
                r -> r != null);
    ResultManifest manifest = ResultManifest.parse(result);
    assertEquals("success", manifest.status(), manifest.toString());
    assertTrue(manifest.logLines().contains("go on"), manifest.log());

    InstanceView ended = api.terminate(terminated.id());
    assertEquals(InstanceView.State.UNKNOWN, ended.state());
    assertFalse(ended.guestMayRun(), ended.toString());
    try (DockerClient docker = Daemons.docker()) {
      assertTrue(
          daemon.containers(docker).stream()
              .noneMatch(c -> Arrays.toString(c.getNames()).contains(terminated.id())),
          "terminate removed its container");
    }

    for (InstanceView instance : List.of(finishing, terminated)) {
      api.delete(instance.id());
      assertFalse(Files.exists(root.resolve("tftp").resolve(instance.id())));
      assertFalse(Files.exists(root.resolve("instances").resolve(instance.id())));
      assertFalse(Files.exists(journal.resolve(instance.id() + ".json.bad")));
      assertTrue(
          DaemonProcess.udpPortFree(instance.tftpPort()),
          "delete frees port " + instance.tftpPort());
    }
    assertEquals(List.of(), api.instances());
    try (DockerClient docker = Daemons.docker()) {
      // The finished container goes right after its STOPPED; the UNKNOWN one's with the delete.
      Awaitility.await("no container is left")
          .atMost(Duration.ofSeconds(30))
          .until(() -> daemon.containers(docker).isEmpty());
    }
    assertEquals(0, daemon.stop());
  }

  private static InstanceView start(ApiClient api) {
    return api.start(
        new StartBody(
            Samples.CONTAINER,
            300L,
            Map.of(
                TaskManifest.FILE_NAME,
                Base64.getEncoder()
                    .encodeToString(WAIT_FOR_GO.text().getBytes(StandardCharsets.UTF_8)))));
  }

  private long running(DockerClient docker) {
    return daemon.containers(docker).stream().filter(c -> "running".equals(c.getState())).count();
  }
}
