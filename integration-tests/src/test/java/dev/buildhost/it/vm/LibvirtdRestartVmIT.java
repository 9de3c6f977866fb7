package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.GUEST_TIMEOUT;
import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.libvirt.DomainXml;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libvirtd restarts (a package upgrade does that) while the manager's VMs run: the manager's
 * connection closes with it, and the lifecycle events of that time are lost. The manager must
 * reconnect by itself, report the guest that ended meanwhile, and keep driving the one that runs
 * on. libvirtd is the one {@code scripts/host-setup} started: it is stopped by its PID file and
 * started again by the same script.
 */
class LibvirtdRestartVmIT {
  private static final Path PID_FILE = Path.of("/run/libvirtd.pid");

  @TempDir Path dir;

  private InstanceManager manager;

  @AfterEach
  void cleanUp() throws Exception {
    if (!isRunning()) {
      startLibvirtd();
    }
    VmFixture.destroyLeftovers(manager);
  }

  @Test
  void aGuestThatEndsWhileLibvirtdIsDownIsReportedAndTheOthersRunOn() throws Exception {
    ManagerConfig config = VmFixture.config(VmFixture.root(dir), 47400, 20, Duration.ofSeconds(30));
    manager = VmFixture.open(config);
    Instance lasting = manager.start(VmFixture.task(null, "sleep 600"));
    Instance ending =
        manager.start(VmFixture.task(null, "sleep 15", "echo ended-while-libvirtd-was-down"));
    for (Instance instance : new Instance[] {lasting, ending}) {
      VmFixture.awaitConsole(manager, instance.id(), "running ");
    }

    stopLibvirtd();
    Path result = manager.tftpFolder(ending.id()).resolve(ResultManifest.FILE_NAME);
    await("the result of " + ending.id(), () -> Files.exists(result), GUEST_TIMEOUT);
    // The guest powers off; its QEMU waits for libvirtd (-no-shutdown) to end it.
    VmFixture.awaitConsole(manager, ending.id(), "reboot: Power down");
    assertEquals(
        InstanceState.RUNNING,
        manager.get(ending.id()).state(),
        "nobody could tell the manager yet");
    startLibvirtd();

    Instance ended =
        awaitState(manager, ending.id(), InstanceState.STOPPED, Duration.ofSeconds(60));
    // POWEROFF when the restarted libvirtd ends the domain after the manager reconnected (the
    // event arrives), CRASHED when before (the manager finds the domain gone).
    assertTrue(
        ended.endReason() == EndReason.POWEROFF || ended.endReason() == EndReason.CRASHED,
        ended::toString);
    assertTrue(ResultManifest.read(result).logLines().contains("ended-while-libvirtd-was-down"));
    assertFalse(VmFixture.domainExists(ending.id()));
    assertEquals(InstanceState.RUNNING, manager.get(lasting.id()).state());
    assertTrue(qemuRuns(lasting.id()));

    // Events flow again on the new connection: terminate is seen through to its end.
    manager.terminate(lasting.id());
    Instance terminated =
        awaitState(manager, lasting.id(), InstanceState.STOPPED, Duration.ofSeconds(60));
    assertEquals(EndReason.TERMINATED, terminated.endReason());
    assertFalse(VmFixture.domainExists(lasting.id()));
    VmFixture.awaitOverlayDeleted(config, lasting.id());
  }

  @Test
  void aGuestReleasedWhileLibvirtdIsDownHasItsDomainDestroyedOnceLibvirtdIsBack() throws Exception {
    ManagerConfig config = VmFixture.config(VmFixture.root(dir), 47440, 20, Duration.ofSeconds(30));
    manager = VmFixture.open(config);
    Instance guest = manager.start(VmFixture.task(null, "sleep 600"));
    VmFixture.awaitConsole(manager, guest.id(), "running ");

    stopLibvirtd();
    manager.terminate(guest.id());
    // Nothing can destroy the domain now: the kill watchdog ends the instance and releases it.
    Instance stopped =
        awaitState(manager, guest.id(), InstanceState.STOPPED, Duration.ofSeconds(60));
    assertEquals(EndReason.TERMINATED, stopped.endReason());
    assertTrue(qemuRuns(guest.id()), "the guest runs on while libvirtd is down");
    startLibvirtd();

    await(
        "the domain of the released " + guest.id() + " to be destroyed",
        () -> !qemuRuns(guest.id()) && !VmFixture.domainExists(guest.id()),
        Duration.ofSeconds(60));
  }

  private static void stopLibvirtd() throws Exception {
    long pid = Long.parseLong(Files.readString(PID_FILE).strip());
    ProcessHandle libvirtd =
        ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no libvirtd with pid " + pid));
    libvirtd.destroy();
    await("libvirtd (pid " + pid + ") to stop", () -> !libvirtd.isAlive(), Duration.ofSeconds(30));
  }

  private static boolean isRunning() throws IOException {
    return Files.exists(PID_FILE)
        && ProcessHandle.of(Long.parseLong(Files.readString(PID_FILE).strip()))
            .map(ProcessHandle::isAlive)
            .orElse(false);
  }

  private static void startLibvirtd() throws Exception {
    Path script = Samples.repository().resolve("scripts/host-setup");
    Process setup = new ProcessBuilder(script.toString()).redirectErrorStream(true).start();
    String output = new String(setup.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, setup.waitFor(), script + " failed:\n" + output);
  }

  /**
   * Whether the QEMU process of the instance's domain is alive (libvirt names the guest on its
   * command line).
   */
  private static boolean qemuRuns(String instanceId) {
    String guest = "guest=" + DomainXml.domainName(instanceId);
    return ProcessHandle.allProcesses()
        .anyMatch(
            process ->
                process
                    .info()
                    .arguments()
                    .map(arguments -> String.join(" ", arguments).contains(guest))
                    .orElse(false));
  }

  private static void await(String what, Callable<Boolean> condition, Duration timeout) {
    Awaitility.await(what).atMost(timeout).pollInterval(Duration.ofMillis(200)).until(condition);
  }
}
