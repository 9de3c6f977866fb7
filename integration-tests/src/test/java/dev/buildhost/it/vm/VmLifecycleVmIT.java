package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.GUEST_TIMEOUT;
import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One-shot VMs of sample-vm through the manager and the real libvirtd: the worker's whole round
 * trip, and the poweroff, terminate and timeout ends. After each end the domain is gone, the
 * overlay deleted and the TFTP port free; the base disk is never written.
 */
class VmLifecycleVmIT {
  @TempDir Path dir;

  private InstanceManager manager;
  private ManagerConfig config;
  private final List<InstanceEvent> events = new CopyOnWriteArrayList<>();

  private void open(Duration grace) throws Exception {
    config = VmFixture.config(VmFixture.root(dir), 47100, 20, grace);
    manager = VmFixture.open(config);
    manager.subscribe(events::add);
  }

  @AfterEach
  void cleanUp() {
    VmFixture.destroyLeftovers(manager);
  }

  private void assertReleased(Instance instance) throws Exception {
    assertFalse(VmFixture.domainExists(instance.id()), "domain of " + instance.id() + " is gone");
    VmFixture.awaitOverlayDeleted(config, instance.id());
    assertTrue(
        VmFixture.portFree(instance.tftpPort()),
        "TFTP port " + instance.tftpPort() + " is released");
    assertTrue(
        Files.isRegularFile(config.instancesDir().resolve(instance.id()).resolve("console.log")),
        "the console log is kept");
  }

  private List<InstanceEvent.Kind> kindsOf(String id) {
    return events.stream()
        .filter(e -> e.instance().id().equals(id))
        .map(InstanceEvent::kind)
        .toList();
  }

  @Test
  void theWorkerFetchesItsTaskUploadsItsResultAndTheGuestPowersOff() throws Exception {
    String baseBefore = Checksums.sha256(VmFixture.baseDisk());
    open(Duration.ofSeconds(30));
    Instance started =
        manager.start(
            VmFixture.task(
                null,
                "echo vm-says-$((6 * 7))",
                "cat /proc/cmdline",
                "cat /sys/firmware/qemu_fw_cfg/by_name/opt/buildhost/tftp/raw"));
    assertTrue(VmFixture.domainExists(started.id()));
    assertTrue(
        VmFixture.overlayExists(config, started.id()), "the overlay exists while the guest runs");

    Instance stopped = awaitState(manager, started.id(), InstanceState.STOPPED, GUEST_TIMEOUT);
    assertEquals(
        EndReason.POWEROFF, stopped.endReason(), () -> VmFixture.console(manager, started.id()));
    ResultManifest result =
        ResultManifest.read(manager.tftpFolder(started.id()).resolve(ResultManifest.FILE_NAME));
    assertEquals("success", result.status(), result::log);
    assertTrue(result.logLines().contains("vm-says-42"), result::log);
    assertTrue(result.log().contains("buildhost.tftp=10.0.2.2:" + started.tftpPort()), result::log);
    assertTrue(
        result.logLines().contains("10.0.2.2:" + started.tftpPort()),
        "the fw_cfg entry: " + result.log());
    assertReleased(stopped);
    assertTrue(VmFixture.console(manager, started.id()).contains("buildhost-worker"));
    VmFixture.awaitEvents(events, started.id(), InstanceEvent.Kind.STOPPED);
    assertEquals(
        List.of(
            InstanceEvent.Kind.CREATED,
            InstanceEvent.Kind.RUNNING,
            InstanceEvent.Kind.FILE_UPLOADED,
            InstanceEvent.Kind.STOPPED),
        kindsOf(started.id()));
    assertEquals(baseBefore, Checksums.sha256(VmFixture.baseDisk()), "the base disk is unchanged");
  }

  @Test
  void poweroffIsAnAcpiShutdownThatTheGuestHonours() throws Exception {
    open(Duration.ofSeconds(90));
    Instance started = manager.start(VmFixture.task(null, "sleep 600"));
    awaitState(manager, started.id(), InstanceState.RUNNING, GUEST_TIMEOUT);
    // The sample's init starts acpid before the worker: once the worker speaks, the power button
    // works.
    VmFixture.awaitConsole(manager, started.id(), "buildhost-worker:");
    assertEquals(InstanceState.STOPPING, manager.poweroff(started.id()).state());
    Instance stopped =
        awaitState(manager, started.id(), InstanceState.STOPPED, Duration.ofMinutes(2));
    assertEquals(
        EndReason.POWEROFF, stopped.endReason(), () -> VmFixture.console(manager, started.id()));
    assertTrue(VmFixture.console(manager, started.id()).contains("ACPI power button pressed"));
    assertReleased(stopped);
    assertTrue(kindsOf(started.id()).contains(InstanceEvent.Kind.STOPPING));
  }

  @Test
  void terminateDestroysTheGuestAtOnce() throws Exception {
    open(Duration.ofSeconds(30));
    Instance started = manager.start(VmFixture.task(null, "sleep 600"));
    awaitState(manager, started.id(), InstanceState.RUNNING, GUEST_TIMEOUT);
    manager.terminate(started.id());
    Instance stopped =
        awaitState(manager, started.id(), InstanceState.STOPPED, Duration.ofSeconds(60));
    assertEquals(EndReason.TERMINATED, stopped.endReason());
    assertReleased(stopped);
    manager.delete(started.id());
    assertFalse(Files.exists(config.instancesDir().resolve(started.id())));
    assertFalse(Files.exists(config.tftpDir().resolve(started.id())));
  }

  @Test
  void anInstanceIsKilledAtItsTimeout() throws Exception {
    open(Duration.ofSeconds(30));
    Instance started = manager.start(VmFixture.task(Duration.ofSeconds(20), "sleep 600"));
    Instance stopped =
        awaitState(manager, started.id(), InstanceState.STOPPED, Duration.ofSeconds(90));
    assertEquals(EndReason.TIMEOUT, stopped.endReason());
    assertReleased(stopped);
  }
}
