package dev.buildhost.it.bootstrap;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Image;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.EndReason;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bootstrap of the sample container against the real dockerd: the worker installs a toolchain, the
 * container is committed to an image of buildhost's naming, and a later build starts from it while
 * the machine's own image stays as it was; failures publish nothing; two bootstraps at once publish
 * once; a toolchain change makes the state stale, `required` then answers 409, prune removes it.
 */
class BootstrapContainerIT {
  private static final Duration WAIT = Duration.ofMinutes(3);

  private static DockerClient docker;

  @TempDir Path root;

  private String machine;
  private Path revision;
  private ManagerConfig config;
  private BootstrapFixture.Opened opened;

  @BeforeAll
  static void connect() {
    docker = Daemons.docker();
  }

  @AfterAll
  static void disconnect() throws IOException {
    if (docker != null) {
      docker.close();
    }
  }

  @BeforeEach
  void open() throws IOException {
    machine = "bs-ct-" + UUID.randomUUID().toString().substring(0, 8);
    revision = BootstrapFixture.machine(root, Samples.CONTAINER, machine);
    int first = 24000 + (int) (ProcessHandle.current().pid() % 50) * 100;
    config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            first,
            first + 99,
            8,
            16384,
            Duration.ofMinutes(5),
            Duration.ofSeconds(5),
            Acceleration.TCG,
            "qemu:///system",
            "unix:///var/run/docker.sock",
            "host");
    opened = BootstrapFixture.open(config, new DockerBackend(config));
    BootstrapFixture.publishToolchain(root, BootstrapFixture.TOOLCHAIN, "v1");
  }

  @AfterEach
  void close() {
    for (Instance instance : opened.manager().list()) {
      if (instance.state() != InstanceState.STOPPED) {
        opened.manager().terminate(instance.id());
      }
    }
    opened.close();
    for (Image image : keptImages()) {
      docker.removeImageCmd(image.getId()).withForce(true).exec();
    }
    try {
      docker.removeImageCmd("buildhost/" + machine + ":1.0").withForce(true).exec();
    } catch (RuntimeException e) {
      // not loaded
    }
  }

  private List<Image> keptImages() {
    return docker
        .listImagesCmd()
        .withLabelFilter(Map.of("dev.buildhost.kept-for", root.toAbsolutePath().toString()))
        .exec();
  }

  private Instance awaitStopped(String id) {
    return await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> opened.manager().get(id), i -> i.state() == InstanceState.STOPPED);
  }

  private Instance bootstrap(String version, String... commands) throws IOException {
    return opened
        .bootstraps()
        .bootstrap(
            new StartRequest(
                machine,
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
                machine,
                null,
                Map.of("task.manifest", BootstrapFixture.buildTask(commands)),
                mode,
                null));
  }

  private ResultManifest result(String id) throws IOException {
    return ResultManifest.read(opened.manager().tftpFolder(id).resolve("result.manifest"));
  }

  private String baseImageId() {
    return docker.inspectImageCmd("buildhost/" + machine + ":1.0").exec().getId();
  }

  @Test
  void aBuildAfterTheBootstrapFindsTheToolchainWhileTheMachinesImageIsUnchanged() throws Exception {
    String archiveBefore = Checksums.sha256(revision.resolve("image.tar"));
    // A plain build first: loads the machine's image, and finds no toolchain.
    Instance plain =
        awaitStopped(build(BootstrappedMode.AUTO, "cat $BUILDHOST_PERSIST/marker").id());
    assertEquals("error", result(plain.id()).status(), plain::toString);
    String imageBefore = baseImageId();

    Instance bootstrap = awaitStopped(bootstrap("v1", "cat $BUILDHOST_PERSIST/marker").id());

    assertEquals(EndReason.POWEROFF, bootstrap.endReason(), bootstrap::toString);
    assertEquals(0, bootstrap.exitCode());
    assertTrue(bootstrap.message().startsWith("bootstrap published as "), bootstrap.message());
    List<Bootstraps.StateInfo> states = opened.bootstraps().states(machine);
    assertEquals(1, states.size());
    Bootstraps.StateInfo state = states.get(0);
    assertTrue(state.current());
    assertEquals(bootstrap.id(), state.state().instance());
    assertNotNull(state.state().image());
    assertEquals(1, keptImages().size());
    long imageBytes = docker.inspectImageCmd(state.state().image()).exec().getSize();
    assertTrue(
        opened.bootstraps().diskUse() >= imageBytes,
        "the disk use counts the " + imageBytes + " bytes of the committed image");
    assertTrue(
        Files.readString(state.stored().folder().resolve("result.manifest"))
            .contains("toolchain v1"));

    Instance build = build(BootstrappedMode.AUTO, "cat $BUILDHOST_PERSIST/marker");
    assertEquals(state.state().id(), opened.manager().startedFrom(build.id()));
    build = awaitStopped(build.id());
    ResultManifest result = result(build.id());
    assertEquals("success", result.status(), result::log);
    assertTrue(result.log().contains("toolchain v1"), result.log());

    Instance never =
        awaitStopped(build(BootstrappedMode.NEVER, "cat $BUILDHOST_PERSIST/marker").id());
    assertEquals("error", result(never.id()).status(), "never starts the bare image");
    assertNull(opened.manager().startedFrom(never.id()));

    assertEquals(imageBefore, baseImageId(), "the machine's image is unchanged");
    assertEquals(archiveBefore, Checksums.sha256(revision.resolve("image.tar")));
  }

  @Test
  void aFailedBootstrapPublishesNothingAndLeavesNothing() throws Exception {
    Instance failed = awaitStopped(bootstrap("v1", "exit 3").id());

    assertEquals(3, failed.exitCode());
    assertTrue(
        failed.message().contains("bootstrap failed: the container exited with code 3"),
        failed.message());
    assertEquals(List.of(), opened.bootstraps().states());
    assertEquals(List.of(), keptImages());
    assertNothingStaged();

    Instance terminated = bootstrap("v1", "sleep 600");
    await()
        .atMost(WAIT)
        .until(() -> opened.manager().get(terminated.id()).state() == InstanceState.RUNNING);
    opened.manager().terminate(terminated.id());
    Instance ended = awaitStopped(terminated.id());
    assertEquals(EndReason.TERMINATED, ended.endReason());
    assertTrue(ended.message().contains("bootstrap failed: it ended TERMINATED"), ended.message());
    assertEquals(List.of(), opened.bootstraps().states());
    assertEquals(List.of(), keptImages());
    assertNothingStaged();
  }

  @Test
  void ofTwoConcurrentBootstrapsOnlyOnePublishes() throws Exception {
    Instance first = bootstrap("v1", "sleep 2");
    Instance second = bootstrap("v1", "sleep 2");

    List<Instance> ended = List.of(awaitStopped(first.id()), awaitStopped(second.id()));

    long published =
        ended.stream().filter(i -> i.message().startsWith("bootstrap published")).count();
    long lost =
        ended.stream().filter(i -> i.message().contains("another bootstrap published")).count();
    assertEquals(1, published, ended::toString);
    assertEquals(1, lost, ended::toString);
    assertEquals(1, opened.bootstraps().states().size());
    assertEquals(
        List.of(opened.bootstraps().states().get(0).state().image()),
        keptImages().stream().map(Image::getId).toList(),
        "the loser's image is removed");
    assertNothingStaged();
  }

  @Test
  void aToolchainChangeMakesTheStateStaleRequiredAnswers409AndPruneRemovesIt() throws Exception {
    Instance bootstrap = awaitStopped(bootstrap("v1").id());
    assertTrue(bootstrap.message().startsWith("bootstrap published"), bootstrap.message());
    assertEquals(1, keptImages().size());

    BootstrapFixture.publishToolchain(root, BootstrapFixture.TOOLCHAIN, "v2");

    Bootstraps.StateInfo stale = opened.bootstraps().states(machine).get(0);
    assertFalse(stale.current());
    ManagerException refused =
        assertThrows(ManagerException.class, () -> build(BootstrappedMode.REQUIRED, "true"));
    assertEquals(ManagerException.Kind.CONFLICT, refused.kind());
    assertTrue(refused.getMessage().contains("has no bootstrapped state for toolchain stable"));
    assertTrue(refused.getMessage().contains("bootstrap it first"), refused.getMessage());

    assertEquals(List.of(stale.state().id()), opened.bootstraps().prune());
    assertEquals(List.of(), opened.bootstraps().states());
    assertEquals(List.of(), keptImages(), "the stale state's image is removed");

    Instance again = awaitStopped(bootstrap("v2").id());
    assertTrue(again.message().startsWith("bootstrap published"), again.message());
    Instance build =
        awaitStopped(build(BootstrappedMode.REQUIRED, "cat $BUILDHOST_PERSIST/marker").id());
    assertTrue(result(build.id()).log().contains("toolchain v2"), result(build.id()).log());
  }

  @Test
  void theWorkerFetchesTheToolchainFromTheSharedTreeWhenTheTaskNamesItsPath() throws Exception {
    // As the monitor publishes it: the archive beside its checksum file; nothing is put.
    Path shared = root.resolve("tftp/toolchain").resolve(BootstrapFixture.TOOLCHAIN);
    Files.write(shared.resolve(BootstrapFixture.ARCHIVE), BootstrapFixture.toolchainTar("shared"));
    String path = "toolchain/" + BootstrapFixture.TOOLCHAIN + "/" + BootstrapFixture.ARCHIVE;
    Instance bootstrap =
        awaitStopped(
            opened
                .bootstraps()
                .bootstrap(
                    new StartRequest(
                        machine,
                        null,
                        Map.of(
                            "task.manifest",
                            (": 1\nmode: bootstrap\ntoolchain: " + path + "\n")
                                .getBytes(StandardCharsets.UTF_8)),
                        BootstrappedMode.NEVER,
                        null))
                .id());
    assertTrue(bootstrap.message().startsWith("bootstrap published"), bootstrap.toString());
    assertFalse(
        Files.exists(opened.manager().tftpFolder(bootstrap.id()).resolve(BootstrapFixture.ARCHIVE)),
        "nothing was put into the instance folder");

    Instance build =
        awaitStopped(build(BootstrappedMode.REQUIRED, "cat $BUILDHOST_PERSIST/marker").id());
    assertTrue(result(build.id()).log().contains("toolchain shared"), result(build.id()).log());

    Instance escaping =
        awaitStopped(
            opened
                .bootstraps()
                .bootstrap(
                    new StartRequest(
                        machine,
                        null,
                        Map.of(
                            "task.manifest",
                            ": 1\nmode: bootstrap\ntoolchain: toolchain/../../etc/passwd\n"
                                .getBytes(StandardCharsets.UTF_8)),
                        BootstrappedMode.NEVER,
                        null))
                .id());
    assertEquals(65, escaping.exitCode(), escaping.toString());
    assertTrue(
        result(escaping.id()).log().contains("is not a file name or a path in the shared tree"),
        result(escaping.id()).log());
  }

  @Test
  void reconciliationRemovesAnImageCommittedButNeverPublished() throws Exception {
    Instance bootstrap = awaitStopped(bootstrap("v1").id());
    assertTrue(bootstrap.message().startsWith("bootstrap published"), bootstrap.message());
    String published = opened.bootstraps().states().get(0).state().image();
    // What a daemon killed between the commit and the publish leaves: an image of ours that no
    // state names, and a half-made state folder.
    String orphan =
        docker
            .commitCmd(docker.createContainerCmd(published).withCmd("true").exec().getId())
            .withLabels(Map.of("dev.buildhost.kept-for", root.toAbsolutePath().toString()))
            .withRepository("buildhost-kept/orphan")
            .withTag("x")
            .exec();
    Files.createDirectories(root.resolve("state/bootstrapped/.staging/" + machine + "-killed"));
    opened.close();

    opened = BootstrapFixture.open(config, new DockerBackend(config));

    assertEquals(List.of(published), keptImages().stream().map(Image::getId).toList());
    assertFalse(keptImages().stream().anyMatch(i -> i.getId().equals(orphan)));
    assertNothingStaged();
    docker
        .listContainersCmd()
        .withShowAll(true)
        .withAncestorFilter(List.of(published))
        .exec()
        .forEach(c -> docker.removeContainerCmd(c.getId()).withForce(true).exec());
  }

  private void assertNothingStaged() throws IOException {
    Path staging = root.resolve("state/bootstrapped/.staging");
    if (Files.isDirectory(staging)) {
      try (var left = Files.list(staging)) {
        assertEquals(List.of(), left.toList());
      }
    }
  }
}
