package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.GUEST_TIMEOUT;
import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.net.tftp.TFTP;
import org.apache.commons.net.tftp.TFTPClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four VMs at once, each with its own TFTP port and folder; a client on one instance's port can
 * neither read nor write another instance's folder.
 */
class ConcurrentVmIT {
  private static final int COUNT = 4;

  @TempDir Path dir;

  private InstanceManager manager;

  @AfterEach
  void cleanUp() {
    VmFixture.destroyLeftovers(manager);
  }

  @Test
  void fourVmsRunAtOnceEachOnItsOwnPortAndFolder() throws Exception {
    ManagerConfig config =
        VmFixture.config(VmFixture.root(dir), 47200, 20, java.time.Duration.ofSeconds(30));
    manager = VmFixture.open(config);
    List<Instance> instances = new ArrayList<>();
    for (int i = 0; i < COUNT; i++) {
      StartRequest request = VmFixture.task(null, "echo result-of-vm-" + i);
      instances.add(manager.start(request));
    }
    Set<Integer> ports = new HashSet<>();
    instances.forEach(instance -> ports.add(instance.tftpPort()));
    assertEquals(COUNT, ports.size(), "each instance has its own port: " + ports);

    for (int i = 0; i < COUNT; i++) {
      Instance self = instances.get(i);
      Instance other = instances.get((i + 1) % COUNT);
      assertCannotReach(config, self, other);
    }

    for (int i = 0; i < COUNT; i++) {
      Instance stopped =
          awaitState(manager, instances.get(i).id(), InstanceState.STOPPED, GUEST_TIMEOUT);
      assertEquals(
          EndReason.POWEROFF, stopped.endReason(), () -> VmFixture.console(manager, stopped.id()));
      ResultManifest result =
          ResultManifest.read(manager.tftpFolder(stopped.id()).resolve(ResultManifest.FILE_NAME));
      assertEquals("success", result.status(), result::log);
      assertTrue(result.logLines().contains("result-of-vm-" + i), result::log);
      assertFalse(VmFixture.domainExists(stopped.id()));
      VmFixture.awaitOverlayDeleted(config, stopped.id());
      assertTrue(VmFixture.portFree(stopped.tftpPort()));
    }
  }

  /** Over {@code self}'s port, {@code other}'s folder is out of reach for reads and writes. */
  private void assertCannotReach(ManagerConfig config, Instance self, Instance other)
      throws IOException {
    Path otherFolder = config.tftpDir().resolve(other.id());
    List<String> names =
        List.of(
            "../" + other.id() + "/task.manifest",
            otherFolder.resolve("task.manifest").toString(),
            "..//" + other.id() + "/task.manifest",
            "../../tftp/" + other.id() + "/task.manifest");
    TFTPClient client = new TFTPClient();
    client.setDefaultTimeout(java.time.Duration.ofSeconds(2));
    client.setMaxTimeouts(2);
    client.open();
    try {
      for (String name : names) {
        ByteArrayOutputStream stolen = new ByteArrayOutputStream();
        assertThrows(
            IOException.class,
            () ->
                client.receiveFile(
                    name,
                    TFTP.BINARY_MODE,
                    stolen,
                    InetAddress.getLoopbackAddress(),
                    self.tftpPort()),
            "read of " + name + " is refused");
        assertEquals(0, stolen.size());
        assertThrows(
            IOException.class,
            () ->
                client.sendFile(
                    name.replace("task.manifest", "planted"),
                    TFTP.BINARY_MODE,
                    new ByteArrayInputStream("x".getBytes(StandardCharsets.UTF_8)),
                    InetAddress.getLoopbackAddress(),
                    self.tftpPort()),
            "write of " + name + " is refused");
      }
    } finally {
      client.close();
    }
    assertFalse(
        Files.exists(otherFolder.resolve("planted")), "nothing was planted in " + other.id());
    try (var files = Files.list(otherFolder)) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().contains("planted")));
    }
  }
}
