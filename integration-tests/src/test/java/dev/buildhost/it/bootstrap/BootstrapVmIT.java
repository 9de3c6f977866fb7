package dev.buildhost.it.bootstrap;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bootstrap of the sample VM against the real libvirtd (TCG here): the worker unpacks the toolchain
 * into the guest's disk, the bootstrap's overlay is kept as a read-only qcow2 layer over the
 * revision's disk, and a later build runs on a one-shot overlay over that layer and finds the
 * toolchain, while the revision's disk is byte-for-byte unchanged. A failed bootstrap publishes
 * nothing and leaves nothing.
 */
class BootstrapVmIT {
  private static final Duration WAIT = Duration.ofMinutes(5);
  private static final String MACHINE = "bs-vm";

  @TempDir Path root;

  private Path revision;
  private BootstrapFixture.Opened opened;

  @BeforeEach
  void open() throws Exception {
    Daemons.libvirt().close();
    Samples.passableByQemu(root);
    revision = BootstrapFixture.machine(root, Samples.VM, MACHINE);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            47600,
            47619,
            8,
            8192,
            Duration.ofMinutes(10),
            Duration.ofSeconds(30),
            Acceleration.AUTO,
            Daemons.LIBVIRT_URI,
            "unix:///var/run/docker.sock",
            "host");
    opened = BootstrapFixture.open(config, new LibvirtBackend(config));
    BootstrapFixture.publishToolchain(root, BootstrapFixture.TOOLCHAIN, "v1");
  }

  @AfterEach
  void close() {
    for (Instance instance : opened.manager().list()) {
      if (instance.state() != InstanceState.STOPPED) {
        opened.manager().terminate(instance.id());
      }
    }
    for (Instance instance : opened.manager().list()) {
      awaitStopped(instance.id());
    }
    opened.close();
  }

  private Instance awaitStopped(String id) {
    return await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> opened.manager().get(id), i -> i.state() == InstanceState.STOPPED);
  }

  private Instance bootstrap(String version, String... commands) throws IOException {
    return opened
        .bootstraps()
        .bootstrap(
            new StartRequest(
                MACHINE,
                null,
                BootstrapFixture.bootstrapFiles(version, commands),
                BootstrappedMode.NEVER,
                null));
  }

  private Instance build(BootstrappedMode mode, String... commands) {
    return opened
        .bootstraps()
        .start(
            new StartRequest(
                MACHINE,
                null,
                Map.of("task.manifest", BootstrapFixture.buildTask(commands)),
                mode,
                null));
  }

  private ResultManifest result(String id) throws IOException {
    return ResultManifest.read(opened.manager().tftpFolder(id).resolve("result.manifest"));
  }

  @Test
  void aBuildAfterTheBootstrapFindsTheToolchainOnALayerOverTheUnchangedDisk() throws Exception {
    Path disk = revision.resolve("disk.qcow2");
    String diskBefore = Checksums.sha256(disk);

    Instance bootstrap = awaitStopped(bootstrap("v1", "cat $BUILDHOST_PERSIST/marker").id());

    assertEquals(EndReason.POWEROFF, bootstrap.endReason(), bootstrap::toString);
    assertTrue(bootstrap.message().startsWith("bootstrap published as "), bootstrap.message());
    List<Bootstraps.StateInfo> states = opened.bootstraps().states(MACHINE);
    assertEquals(1, states.size());
    Path layer = states.get(0).stored().diskPath();
    assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(layer)));
    assertTrue(qemuImgInfo(layer).contains(disk.toAbsolutePath().toString()), "layer over disk");
    awaitOverlayGone(bootstrap);

    Instance build = build(BootstrappedMode.REQUIRED, "cat $BUILDHOST_PERSIST/marker");
    assertEquals(states.get(0).state().id(), opened.manager().startedFrom(build.id()));
    String chain = qemuImgInfo(root.resolve("instances").resolve(build.id()).resolve("disk.qcow2"));
    assertTrue(chain.contains(layer.toString()), chain);
    build = awaitStopped(build.id());
    ResultManifest result = result(build.id());
    assertEquals("success", result.status(), result::log);
    assertTrue(result.log().contains("toolchain v1"), result.log());

    Instance never =
        awaitStopped(build(BootstrappedMode.NEVER, "cat $BUILDHOST_PERSIST/marker").id());
    assertEquals("error", result(never.id()).status(), "never: the bare disk has no toolchain");
    assertNull(opened.manager().startedFrom(never.id()));

    assertEquals(diskBefore, Checksums.sha256(disk), "the revision's disk is unchanged");
    assertEquals(1, opened.bootstraps().states(MACHINE).size(), "the layer is still there");
  }

  @Test
  void aFailedBootstrapPublishesNothingAndLeavesNothing() throws Exception {
    Instance failed = awaitStopped(bootstrap("v1", "exit 4").id());

    assertTrue(
        failed.message().contains("bootstrap failed: result.manifest says status: error"),
        failed.message());
    assertEquals(List.of(), opened.bootstraps().states());
    awaitOverlayGone(failed);
    Path staging = root.resolve("state/bootstrapped/.staging");
    if (Files.isDirectory(staging)) {
      try (var left = Files.list(staging)) {
        assertEquals(List.of(), left.toList());
      }
    }
  }

  private static String qemuImgInfo(Path image) throws Exception {
    Process process =
        new ProcessBuilder(
                "qemu-img", "info", "-U", "--backing-chain", "--output=json", image.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), out);
    return out;
  }

  /** The overlay of a stopped instance goes right after its STOPPED, with its domain. */
  private void awaitOverlayGone(Instance instance) {
    Path overlay = root.resolve("instances").resolve(instance.id()).resolve("disk.qcow2");
    await("the overlay " + overlay + " is gone")
        .atMost(Duration.ofSeconds(30))
        .until(() -> !Files.exists(overlay));
  }
}
