package dev.buildhost.it.bootstrap;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Image;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.PublishedRevision;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Publish against the real dockerd and libvirtd: an instance started with keep prepares its guest,
 * its disk becomes a new read-only revision folder (the revision it ran untouched), and an instance
 * of the new revision finds what the first one wrote. Refusals name what to do, and leave nothing.
 */
class PublishIT {
  private static final Duration WAIT = Duration.ofMinutes(5);
  private static final String PREPARE =
      "mkdir -p $BUILDHOST_PERSIST && echo prepared-by-hand > $BUILDHOST_PERSIST/prepared";
  private static final String CHECK = "cat $BUILDHOST_PERSIST/prepared";

  @TempDir Path root;

  private BootstrapFixture.Opened opened;
  private String machine;

  @AfterEach
  void close() throws IOException {
    if (opened == null) {
      return;
    }
    for (Instance instance : opened.manager().list()) {
      if (instance.state() != InstanceState.STOPPED) {
        opened.manager().terminate(instance.id());
      }
    }
    for (Instance instance : opened.manager().list()) {
      awaitStopped(instance.id());
      opened.manager().delete(instance.id());
    }
    opened.close();
    // The container machine's image, loaded from its image.tar: named after this test's machine.
    try (DockerClient docker = Daemons.docker()) {
      Daemons.removeImage(docker, "buildhost/" + machine + ":1.0");
    }
  }

  private void open(String sample, Function<ManagerConfig, InstanceBackend> backend, int firstPort)
      throws IOException {
    machine = "pub-" + UUID.randomUUID().toString().substring(0, 8);
    BootstrapFixture.machine(root, sample, machine);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            firstPort,
            firstPort + 19,
            8,
            8192,
            Duration.ofMinutes(10),
            Duration.ofSeconds(30),
            Acceleration.AUTO,
            Daemons.LIBVIRT_URI,
            "unix:///var/run/docker.sock",
            "host");
    opened = BootstrapFixture.open(config, backend.apply(config));
  }

  private Instance awaitStopped(String id) {
    return await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> opened.manager().get(id), i -> i.state() == InstanceState.STOPPED);
  }

  private Instance run(boolean keep, String command) {
    Instance started =
        opened
            .manager()
            .start(
                new StartRequest(
                    machine,
                    null,
                    Map.of("task.manifest", BootstrapFixture.buildTask(command)),
                    BootstrappedMode.NEVER,
                    null,
                    keep));
    return awaitStopped(started.id());
  }

  private ResultManifest result(String id) throws IOException {
    return ResultManifest.read(opened.manager().tftpFolder(id).resolve("result.manifest"));
  }

  private Path machineDir() {
    return root.resolve("machines").resolve(machine);
  }

  private void assertReadOnly(Path folder) throws IOException {
    assertFalse(Files.isWritable(folder) && !isRoot(), folder + " is writable");
    assertEquals("r-xr-xr-x", permissions(folder));
    try (Stream<Path> files = Files.list(folder)) {
      for (Path file : files.toList()) {
        assertEquals("r--r--r--", permissions(file), file.toString());
      }
    }
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static String permissions(Path path) throws IOException {
    return java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(path));
  }

  /** The hidden folders a publish assembles in. */
  private List<Path> leftovers() throws IOException {
    try (Stream<Path> files = Files.list(machineDir())) {
      return files.filter(p -> p.getFileName().toString().startsWith(".")).toList();
    }
  }

  @Test
  void aKeptContainerIsPublishedAsANewRevisionThatRunsWhatItPrepared() throws Exception {
    open(Samples.CONTAINER, DockerBackend::new, 47640);
    Path archive = machineDir().resolve(machine + "-1.0/image.tar");
    String archiveBefore = Checksums.sha256(archive);

    Instance plain = run(false, PREPARE);
    ManagerException notKept =
        assertThrows(
            ManagerException.class,
            () -> opened.manager().publish(plain.id(), machine + "-1.1", false));
    assertEquals(ManagerException.Kind.CONFLICT, notKept.kind());
    assertTrue(notKept.getMessage().contains("start --keep"), notKept.getMessage());

    Instance kept = run(true, PREPARE);
    assertEquals("success", result(kept.id()).status(), kept::toString);
    assertTrue(kept.message().contains("disk is kept"), kept.message());

    ManagerException badName =
        assertThrows(
            ManagerException.class,
            () -> opened.manager().publish(kept.id(), machine + "-1.01", false));
    assertEquals(ManagerException.Kind.BAD_REQUEST, badName.kind());
    assertTrue(badName.getMessage().contains("is not a revision name"), badName.getMessage());
    ManagerException exists =
        assertThrows(
            ManagerException.class,
            () -> opened.manager().publish(kept.id(), machine + "-1.0", false));
    assertEquals(ManagerException.Kind.CONFLICT, exists.kind());
    assertTrue(exists.getMessage().contains("exists already"), exists.getMessage());

    PublishedRevision published = opened.manager().publish(kept.id(), machine + "-1.1", false);
    assertEquals(machineDir().resolve(machine + "-1.1"), published.folder());
    assertFalse(published.inService());
    assertEquals(
        Path.of(machine + "-1.0"), Files.readSymbolicLink(machineDir().resolve(machine + "-1")));
    assertReadOnly(published.folder());
    assertTrue(
        Files.readString(published.folder().resolve("manifest")).contains("image: image.tar"));

    PublishedRevision inService = opened.manager().publish(kept.id(), machine + "-1.2", true);
    assertTrue(inService.inService());
    assertEquals(
        Path.of(machine + "-1.2"), Files.readSymbolicLink(machineDir().resolve(machine + "-1")));
    assertEquals(List.of(), leftovers());

    Instance check = run(false, CHECK);
    assertEquals("1.2", check.revision());
    ResultManifest checked = result(check.id());
    assertEquals("success", checked.status(), checked::log);
    assertTrue(checked.log().contains("prepared-by-hand"), checked.log());
    assertEquals(archiveBefore, Checksums.sha256(archive), "the revision it ran is unchanged");

    opened.manager().delete(kept.id());
    try (DockerClient docker = Daemons.docker()) {
      List<Image> committed =
          docker
              .listImagesCmd()
              .withLabelFilter(Map.of("dev.buildhost.kept-for", root.toAbsolutePath().toString()))
              .exec();
      for (Image image : committed) {
        List<String> tags = image.getRepoTags() == null ? List.of() : List.of(image.getRepoTags());
        assertTrue(
            tags.stream().noneMatch(t -> t.startsWith("buildhost-kept/")),
            "the kept image's tag goes with its instance: " + tags);
        docker.removeImageCmd(image.getId()).withForce(true).exec();
      }
    }
  }

  @Test
  void aKeptVmIsPublishedAsAStandaloneDiskThatBootsWithWhatItPrepared() throws Exception {
    Daemons.libvirt().close();
    open(Samples.VM, LibvirtBackend::new, 47660);
    Path disk = machineDir().resolve(machine + "-1.0/disk.qcow2");
    String diskBefore = Checksums.sha256(disk);

    Instance kept = run(true, PREPARE);
    assertEquals("success", result(kept.id()).status(), kept::toString);

    PublishedRevision published = opened.manager().publish(kept.id(), machine + "-1.1", true);

    assertReadOnly(published.folder());
    Process info =
        new ProcessBuilder("qemu-img", "info", published.folder().resolve("disk.qcow2").toString())
            .redirectErrorStream(true)
            .start();
    String text = new String(info.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, info.waitFor(), text);
    assertFalse(text.contains("backing file"), "a standalone disk: " + text);
    assertTrue(Files.isRegularFile(published.folder().resolve("vmlinuz")));
    assertEquals(List.of(), leftovers());

    Instance check = run(false, CHECK);
    assertEquals("1.1", check.revision());
    ResultManifest checked = result(check.id());
    assertEquals("success", checked.status(), checked::log);
    assertTrue(checked.log().contains("prepared-by-hand"), checked.log());
    assertEquals(diskBefore, Checksums.sha256(disk), "the revision it ran is unchanged");
  }
}
