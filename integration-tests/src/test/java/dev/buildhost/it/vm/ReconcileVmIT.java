package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.GUEST_TIMEOUT;
import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.libvirt.DomainXml;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.commons.net.tftp.TFTP;
import org.apache.commons.net.tftp.TFTPClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;

/**
 * A daemon that goes away while VMs run (at the Java level: its manager is closed, which leaves the
 * guests running, as a crash does) and a second manager opened on the same root and state: the
 * running guest is adopted and finishes normally, a guest that vanished meanwhile ends as CRASHED,
 * and a labelled domain that no record claims is removed with its folders.
 */
class ReconcileVmIT {
  @TempDir Path dir;

  private InstanceManager first;
  private InstanceManager second;

  @AfterEach
  void cleanUp() {
    VmFixture.destroyLeftovers(first);
    VmFixture.destroyLeftovers(second);
  }

  @Test
  void aRestartedManagerAdoptsLiveGuestsAndCleansUpTheRest() throws Exception {
    ManagerConfig config = VmFixture.config(VmFixture.root(dir), 47300, 20, Duration.ofSeconds(30));
    first = VmFixture.open(config);
    Instance survivor = first.start(VmFixture.task(null, "sleep 45", "echo survived-the-restart"));
    Instance vanishing = first.start(VmFixture.task(null, "sleep 600"));
    Instance orphan = first.start(VmFixture.task(null, "sleep 600"));
    for (Instance instance : List.of(survivor, vanishing, orphan)) {
      VmFixture.awaitConsole(first, instance.id(), "running ");
    }
    first.close();
    first = null;

    // While no manager runs: one guest disappears, one loses its journal record.
    Connect libvirt = Daemons.libvirt();
    try {
      Domain domain = libvirt.domainLookupByName(DomainXml.domainName(vanishing.id()));
      domain.destroy();
      domain.free();
    } finally {
      libvirt.close();
    }
    Files.delete(config.stateDir().resolve("instances").resolve(orphan.id() + ".json"));

    second = VmFixture.open(config);
    List<InstanceEvent> events = new CopyOnWriteArrayList<>();
    second.subscribe(events::add);

    Instance adopted = second.get(survivor.id());
    assertEquals(InstanceState.RUNNING, adopted.state());
    assertEquals(survivor.tftpPort(), adopted.tftpPort());
    TFTPClient client = new TFTPClient();
    client.open();
    try {
      ByteArrayOutputStream task = new ByteArrayOutputStream();
      client.receiveFile(
          "task.manifest",
          TFTP.BINARY_MODE,
          task,
          InetAddress.getLoopbackAddress(),
          adopted.tftpPort());
      assertTrue(
          task.toString(StandardCharsets.UTF_8).contains("survived-the-restart"),
          "the adopted instance's TFTP server serves its folder again");
    } finally {
      client.close();
    }

    Instance crashed = second.get(vanishing.id());
    assertEquals(InstanceState.STOPPED, crashed.state());
    assertEquals(EndReason.CRASHED, crashed.endReason());
    assertFalse(
        VmFixture.overlayExists(config, vanishing.id()), "the vanished guest's overlay is deleted");
    assertTrue(VmFixture.portFree(vanishing.tftpPort()));

    assertFalse(VmFixture.domainExists(orphan.id()), "the orphan domain is removed");
    assertFalse(
        Files.exists(config.instancesDir().resolve(orphan.id())),
        "the orphan's folders are removed");
    assertFalse(Files.exists(config.tftpDir().resolve(orphan.id())));

    Instance finished = awaitState(second, survivor.id(), InstanceState.STOPPED, GUEST_TIMEOUT);
    assertEquals(
        EndReason.POWEROFF, finished.endReason(), () -> VmFixture.console(second, survivor.id()));
    ResultManifest result =
        ResultManifest.read(second.tftpFolder(survivor.id()).resolve(ResultManifest.FILE_NAME));
    assertTrue(result.logLines().contains("survived-the-restart"), result::log);
    VmFixture.awaitEvents(events, survivor.id(), InstanceEvent.Kind.FILE_UPLOADED);
    assertFalse(VmFixture.domainExists(survivor.id()));
    VmFixture.awaitOverlayDeleted(config, survivor.id());
    assertTrue(VmFixture.portFree(survivor.tftpPort()));
  }
}
