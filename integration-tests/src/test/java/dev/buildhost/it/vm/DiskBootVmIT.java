package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.GUEST_TIMEOUT;
import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM machine the way most build machines are: a disk that boots by itself, no kernel in the
 * manifest. The disk ({@code scripts/samples/make-boot-disk}) holds syslinux, the sample's kernel
 * and initramfs and the worker; nothing on the kernel command line names the TFTP endpoint, so the
 * worker can only have found it through the fw_cfg entry the daemon gives the domain.
 */
class DiskBootVmIT {
  private static final String MACHINE = "disk-vm";

  @TempDir Path dir;

  private InstanceManager manager;

  @AfterEach
  void cleanUp() {
    VmFixture.destroyLeftovers(manager);
  }

  @Test
  void aMachineWithOnlyADiskBootsFromItAndFindsItsEndpointThroughFwCfg() throws Exception {
    Path root = VmFixture.root(dir);
    Path revision =
        Files.createDirectories(
            root.resolve("machines").resolve(MACHINE).resolve(MACHINE + "-1.0"));
    makeBootDisk(revision.resolve("disk.qcow2"));
    Files.writeString(
        revision.resolve("manifest"),
        String.join(
            "\n",
            ": 1",
            "id: 5a0d1e2b00",
            "name: " + MACHINE,
            "summary: boots from its disk (syslinux on FAT)",
            "type: kvm",
            "role: build",
            "ram-minimum: 256M",
            "cpus: 1",
            "disk: disk.qcow2",
            ""));
    Files.createSymbolicLink(revision.resolveSibling(MACHINE + "-1"), revision.getFileName());
    ManagerConfig config = VmFixture.config(root, 47500, 10, Duration.ofSeconds(30));
    manager = VmFixture.open(config);

    Instance started =
        manager.start(
            new StartRequest(
                MACHINE,
                null,
                Map.of(
                    TaskManifest.FILE_NAME,
                    TaskManifest.of("echo disk-boot-$((6 * 7))", "cat /proc/cmdline")
                        .text()
                        .getBytes(StandardCharsets.UTF_8))));
    Instance stopped = awaitState(manager, started.id(), InstanceState.STOPPED, GUEST_TIMEOUT);

    String console = VmFixture.console(manager, started.id());
    assertEquals(EndReason.POWEROFF, stopped.endReason(), console);
    ResultManifest result =
        ResultManifest.read(manager.tftpFolder(started.id()).resolve(ResultManifest.FILE_NAME));
    assertEquals("success", result.status(), result::log);
    assertTrue(result.logLines().contains("disk-boot-42"), result::log);
    assertTrue(result.log().contains("initrd=initrd.img"), "booted by syslinux: " + result.log());
    assertFalse(result.log().contains("buildhost.tftp"), result::log);
    assertTrue(
        console.contains("buildhost-worker: TFTP endpoint 10.0.2.2:" + started.tftpPort()),
        console);
    VmFixture.awaitOverlayDeleted(config, started.id());
  }

  private static void makeBootDisk(Path disk) throws Exception {
    Path sample = Samples.revision(Samples.VM);
    Path script = Samples.repository().resolve("scripts/samples/make-boot-disk");
    Process make =
        new ProcessBuilder(
                script.toString(),
                disk.toString(),
                sample.resolve("vmlinuz").toString(),
                sample.resolve("initrd.img").toString(),
                Samples.repository().resolve("scripts/samples/worker.sh").toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(make.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, make.waitFor(), script + " failed:\n" + output);
  }
}
