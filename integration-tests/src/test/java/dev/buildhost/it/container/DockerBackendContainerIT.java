package dev.buildhost.it.container;

import static dev.buildhost.it.container.ContainerFixtures.SAMPLE_TAG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectImageResponse;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.it.support.TestTftp;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.docker.ImageLoader;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.tftp.server.TftpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.ThrowingConsumer;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Docker backend on its own against the real dockerd: the lifecycle's part (grace periods,
 * timeouts, ports) is played by the test. Every test checks that it leaves no container.
 */
class DockerBackendContainerIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private static DockerClient docker;

  @TempDir Path root;

  /** The root folder of a second manager sharing the engine. */
  @TempDir Path otherRoot;

  private DockerBackend backend;
  private final List<String> imagesToRemove = new ArrayList<>();
  private final List<String> progress = new CopyOnWriteArrayList<>();

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
  void openBackend() {
    backend = new DockerBackend(config(), progress::add);
  }

  @AfterEach
  void cleanUp() {
    backend.close();
    List<String> left =
        ContainerFixtures.containersOf(docker, root).stream().map(c -> c.getNames()[0]).toList();
    ContainerFixtures.removeContainers(docker, root);
    imagesToRemove.forEach(tag -> Daemons.removeImage(docker, tag));
    assertEquals(List.of(), left, "containers left behind");
  }

  private ManagerConfig config() {
    return ContainerFixtures.config(root, 16, Duration.ofSeconds(2));
  }

  // --- the sample worker: task in, result out
  // -------------------------------------------------------

  @Test
  void sampleWorkerFetchesItsTaskAndUploadsItsResult() throws Exception {
    Revision sample = ContainerFixtures.sample();
    Path folder = Files.createDirectories(root.resolve("tftp/w1"));
    TaskManifest.of("echo backend-$((6 * 7))", "echo endpoint=$BUILDHOST_TFTP").writeTo(folder);
    try (TftpServer tftp = TestTftp.writable(folder)) {
      Recorder recorder = new Recorder();
      LaunchSpec spec = spec("w1", sample, tftp.port());
      Guest guest = backend.launch(spec, recorder);
      try {
        assertEquals(Set.of("w1"), backend.ourInstanceIds());
        InspectContainerResponse container = docker.inspectContainerCmd("buildhost-w1").exec();
        Map<String, String> labels = container.getConfig().getLabels();
        assertEquals("w1", labels.get(DockerBackend.LABEL_INSTANCE));
        assertEquals(sample.machine(), labels.get(DockerBackend.LABEL_MACHINE));
        assertEquals(sample.version(), labels.get(DockerBackend.LABEL_REVISION));
        assertEquals(64L << 20, container.getHostConfig().getMemory());
        assertEquals(1_000_000_000L, container.getHostConfig().getNanoCPUs());
        assertEquals("host", container.getHostConfig().getNetworkMode());
        assertTrue(
            List.of(container.getConfig().getEnv())
                .contains("BUILDHOST_TFTP=127.0.0.1:" + tftp.port()));

        Stopped stopped = recorder.awaitStopped();
        assertTrue(recorder.ranBeforeStopping(), recorder.calls.toString());
        assertEquals(new Stopped(EndReason.POWEROFF, 0), stopped);
        ResultManifest result = ResultManifest.read(folder.resolve(ResultManifest.FILE_NAME));
        assertEquals("success", result.status(), result::log);
        assertTrue(result.logLines().contains("backend-42"), result::log);
        assertTrue(result.logLines().contains("endpoint=127.0.0.1:" + tftp.port()), result::log);
        String console = Files.readString(spec.consoleLog());
        assertTrue(
            console.contains(
                "buildhost-worker: uploaded result.manifest (status success, exit code 0)"),
            console);
        assertTrue(console.contains("backend-42"), console);
      } finally {
        guest.release();
      }
      assertEquals(Set.of(), backend.ourInstanceIds());
      assertTrue(imageExists(SAMPLE_TAG), "the image stays for the next instance");
    }
  }

  @Test
  void aFailingTasksExitCodeBecomesTheContainers() throws Exception {
    Path folder = Files.createDirectories(root.resolve("tftp/w2"));
    TaskManifest.of("echo about-to-fail", "exit 3").writeTo(folder);
    try (TftpServer tftp = TestTftp.writable(folder)) {
      Recorder recorder = new Recorder();
      Guest guest = backend.launch(spec("w2", ContainerFixtures.sample(), tftp.port()), recorder);
      try {
        assertEquals(new Stopped(EndReason.POWEROFF, 3), recorder.awaitStopped());
        assertEquals(3, ResultManifest.read(folder.resolve(ResultManifest.FILE_NAME)).exitCode());
      } finally {
        guest.release();
      }
    }
  }

  @Test
  void commandOutputGoesToTheConsoleLogInFull() throws Exception {
    // 2000 lines on stdout and stderr, then exit at once: the end must wait for the last byte.
    Revision revision =
        ContainerFixtures.sampleRunning(
            "/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; exit 5'");
    Recorder recorder = new Recorder();
    LaunchSpec spec = spec("c1", revision, 1);
    Guest guest = backend.launch(spec, recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 5), recorder.awaitStopped());
      List<String> lines = Files.readAllLines(spec.consoleLog());
      assertEquals(4000, lines.size());
      assertTrue(
          lines.contains("out-1999") && lines.contains("err-1999") && lines.contains("out-0"));
    } finally {
      guest.release();
    }
  }

  @Test
  void anUnwritableConsoleLogFailsTheLaunchAndLeavesNoContainer() throws Exception {
    Files.createDirectories(root.resolve("instances"));
    Files.writeString(root.resolve("instances/u1"), "a file where the instance folder should be");
    BackendException e =
        assertThrows(
            BackendException.class,
            () ->
                backend.launch(
                    spec("u1", ContainerFixtures.sampleRunning("sleep 1000"), 1), new Recorder()));
    assertTrue(
        e.getMessage()
            .startsWith("cannot write the console log " + root.resolve("instances/u1/console.log")),
        e.getMessage());
    assertEquals(Set.of(), backend.ourInstanceIds());
  }

  // --- stopping
  // --------------------------------------------------------------------------------------

  @Test
  void shutdownEndsAPlainCommandAtOnce() throws Exception {
    Recorder recorder = new Recorder();
    Guest guest =
        backend.launch(spec("s1", ContainerFixtures.sampleRunning("sleep 1000"), 1), recorder);
    try {
      recorder.awaitRunning();
      guest.shutdown();
      // Docker's init passes SIGTERM on to sleep, which dies of it.
      assertEquals(new Stopped(EndReason.POWEROFF, 143), recorder.awaitStopped());
    } finally {
      guest.release();
    }
  }

  @Test
  void aContainerThatIgnoresSigtermRunsOnUntilKilled() throws Exception {
    Recorder recorder = new Recorder();
    LaunchSpec spec =
        spec(
            "s2",
            ContainerFixtures.sampleRunning(
                "/bin/sh -c \"trap '' TERM; echo trapped; while :; do sleep 1; done\""),
            1);
    Guest guest = backend.launch(spec, recorder);
    try {
      recorder.awaitRunning();
      awaitConsole(spec.consoleLog(), "trapped");
      guest.shutdown();
      Thread.sleep(2000);
      assertNull(recorder.stopped.getNow(null), "it ignored SIGTERM, so it must still run");
      assertTrue(docker.inspectContainerCmd("buildhost-s2").exec().getState().getRunning());
      guest.kill();
      assertEquals(new Stopped(EndReason.POWEROFF, 137), recorder.awaitStopped());
    } finally {
      guest.release();
    }
  }

  @Test
  void releaseIsIdempotentAndRemovesARunningContainer() throws Exception {
    Recorder recorder = new Recorder();
    Guest guest =
        backend.launch(spec("r1", ContainerFixtures.sampleRunning("sleep 1000"), 1), recorder);
    recorder.awaitRunning();
    guest.release();
    guest.release();
    guest.kill(); // on a removed container: nothing happens
    guest.shutdown();
    assertEquals(Set.of(), backend.ourInstanceIds());
  }

  // --- containers prepared ahead
  // ---------------------------------------------------------------------

  @Test
  void aPreparedContainerIsCreatedNotStartedAndALaunchOfTheSameSpecStartsIt() throws Throwable {
    LaunchSpec spec = spec("p1", ContainerFixtures.sampleRunning("sleep 1000"), 1);
    backend.prepare(spec);
    InspectContainerResponse prepared = docker.inspectContainerCmd("buildhost-p1").exec();
    assertEquals("created", prepared.getState().getStatus());

    whileRunning(
        spec,
        running -> {
          assertEquals(prepared.getId(), running.getId());
          assertTrue(running.getState().getRunning());
        });
  }

  @Test
  void aLaunchWhoseSpecDiffersFromThePreparedOneReplacesItsContainer() throws Throwable {
    Revision sleeper = ContainerFixtures.sampleRunning("sleep 1000");
    backend.prepare(spec("p2", sleeper, 1));
    String preparedId = docker.inspectContainerCmd("buildhost-p2").exec().getId();

    whileRunning(
        spec("p2", sleeper, 2),
        running -> { // another TFTP port
          assertNotEquals(preparedId, running.getId());
          assertTrue(List.of(running.getConfig().getEnv()).contains("BUILDHOST_TFTP=127.0.0.1:2"));
          assertEquals(
              List.of("/buildhost-p2"), ContainerFixtures.containersOf(docker, root, "p2"));
        });
  }

  /** Launches the spec, hands its running container to {@code check}, then releases it. */
  private void whileRunning(LaunchSpec spec, ThrowingConsumer<InspectContainerResponse> check)
      throws Throwable {
    Recorder recorder = new Recorder();
    Guest guest = backend.launch(spec, recorder);
    try {
      recorder.awaitRunning();
      check.accept(
          docker.inspectContainerCmd(DockerBackend.containerName(spec.instanceId())).exec());
    } finally {
      guest.release();
    }
  }

  @Test
  void discardedAndUnclaimedPreparedContainersAreRemoved() throws Exception {
    Revision sleeper = ContainerFixtures.sampleRunning("sleep 1000");
    backend.prepare(spec("p3", sleeper, 1));
    backend.prepare(spec("p4", sleeper, 2));

    backend.discardPrepared("p3");
    assertEquals(Set.of("p4"), backend.ourInstanceIds());
    backend.close(); // the one no launch took goes too
    assertEquals(List.of(), ContainerFixtures.containersOf(docker, root));
  }

  // --- a restarted daemon
  // ----------------------------------------------------------------------------

  @Test
  void aNewBackendAdoptsARunningContainerAndRemovesOrphans() throws Exception {
    Revision sleeper =
        ContainerFixtures.sampleRunning("/bin/sh -c 'echo first-life; exec sleep 1000'");
    backend.launch(spec("a1", sleeper, 1), new Recorder());
    backend.launch(spec("a2", sleeper, 1), new Recorder());
    awaitConsole(spec("a1", sleeper, 1).consoleLog(), "first-life");
    backend.close(); // the daemon goes away; its containers go on

    backend = new DockerBackend(config(), progress::add);
    assertEquals(Set.of("a1", "a2"), backend.ourInstanceIds());
    Files.writeString(spec("a1", sleeper, 1).consoleLog(), "stale copy\n");
    Recorder adopted = new Recorder();
    Guest guest = backend.adopt(spec("a1", sleeper, 1), adopted);
    adopted.awaitRunning();
    awaitConsole(spec("a1", sleeper, 1).consoleLog(), "first-life");
    assertFalse(
        Files.readString(spec("a1", sleeper, 1).consoleLog()).contains("stale copy"),
        "adopting rewrites the console log from the engine's complete copy");
    guest.kill();
    assertEquals(new Stopped(EndReason.POWEROFF, 137), adopted.awaitStopped());
    guest.release();

    backend.removeOrphan("a2");
    backend.removeOrphan("a2"); // idempotent
    assertEquals(Set.of(), backend.ourInstanceIds());
    assertThrows(
        BackendException.class, () -> backend.adopt(spec("a3", sleeper, 1), new Recorder()));
  }

  @Test
  void aContainerThatEndedWhileNoBackendWatchedIsReportedOnAdoption() throws Exception {
    Revision brief =
        ContainerFixtures.sampleRunning("/bin/sh -c 'sleep 1; echo ended-unwatched; exit 4'");
    backend.launch(spec("e1", brief, 1), new Recorder());
    backend.close();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (docker.inspectContainerCmd("buildhost-e1").exec().getState().getRunning()) {
      assertTrue(System.nanoTime() < deadline, "the container did not end");
      Thread.sleep(100);
    }

    backend = new DockerBackend(config(), progress::add);
    Recorder adopted = new Recorder();
    Guest guest = backend.adopt(spec("e1", brief, 1), adopted);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 4), adopted.awaitStopped());
      assertTrue(Files.readString(spec("e1", brief, 1).consoleLog()).contains("ended-unwatched"));
    } finally {
      guest.release();
    }
  }

  @Test
  void theEventStreamAndConsoleCaptureReconnectAndCatchUpWithWhatTheyMissed() throws Exception {
    try (EngineSocketProxy proxy = new EngineSocketProxy(root.resolve("engine.sock"))) {
      try (DockerBackend proxied = new DockerBackend(viaProxy(proxy))) {
        Recorder recorder = new Recorder();
        LaunchSpec spec =
            spec(
                "p1",
                ContainerFixtures.sampleRunning(
                    "/bin/sh -c 'echo before-the-drop; sleep 2; echo after-the-drop; exit 6'"),
                1);
        Guest guest = proxied.launch(spec, recorder);
        try {
          recorder.awaitRunning();
          awaitConsole(spec.consoleLog(), "before-the-drop");
          // The engine "goes away" while the container runs and ends, then comes back.
          proxy.refuse(true);
          proxy.dropConnections();
          long deadline = System.nanoTime() + WAIT.toNanos();
          while (docker.inspectContainerCmd("buildhost-p1").exec().getState().getRunning()) {
            assertTrue(System.nanoTime() < deadline, "the container did not end");
            Thread.sleep(100);
          }
          assertNull(recorder.stopped.getNow(null), "no event can have reached the backend");
          proxy.refuse(false);
          assertEquals(new Stopped(EndReason.POWEROFF, 6), recorder.awaitStopped());
          // The console capture broke off too: it copied the whole output again.
          assertEquals("before-the-drop\nafter-the-drop\n", Files.readString(spec.consoleLog()));
        } finally {
          guest.release();
        }
      }
    }
  }

  @Test
  void aContainerTheEngineCouldNotRemoveIsRemovedOnceItAnswersAgain() throws Exception {
    try (EngineSocketProxy proxy = new EngineSocketProxy(root.resolve("engine.sock"));
        DockerBackend proxied = new DockerBackend(viaProxy(proxy))) {
      Recorder recorder = new Recorder();
      Guest guest =
          proxied.launch(spec("g1", ContainerFixtures.sampleRunning("sleep 1000"), 1), recorder);
      recorder.awaitRunning();
      proxy.refuse(true);
      proxy.dropConnections();
      guest.release(); // the engine is away: the container stays, for now
      assertTrue(
          docker.inspectContainerCmd("buildhost-g1").exec().getState().getRunning(),
          "the container ran on while the engine was away");
      proxy.refuse(false); // the event stream reconnects, and the removal is tried again
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!docker
          .listContainersCmd()
          .withShowAll(true)
          .withNameFilter(List.of("buildhost-g1"))
          .exec()
          .isEmpty()) {
        assertTrue(System.nanoTime() < deadline, "the container was not removed");
        Thread.sleep(100);
      }
    }
  }

  /** The backend's config, with the engine reached through {@code proxy}. */
  private ManagerConfig viaProxy(EngineSocketProxy proxy) {
    ManagerConfig direct = config();
    return new ManagerConfig(
        direct.root(),
        direct.stateDir(),
        direct.tftpPortFirst(),
        direct.tftpPortLast(),
        direct.maxInstances(),
        direct.ramBudgetMib(),
        direct.defaultTimeout(),
        direct.poweroffGrace(),
        direct.acceleration(),
        direct.libvirtUri(),
        proxy.dockerHost(),
        direct.dockerNetworkMode());
  }

  @Test
  void anotherManagersContainersAreNotOurs() throws Exception {
    try (DockerBackend other =
        new DockerBackend(ContainerFixtures.config(otherRoot, 4, Duration.ofSeconds(2)))) {
      Guest theirs =
          other.launch(
              new LaunchSpec(
                  "o1",
                  ContainerFixtures.sampleRunning("sleep 1000"),
                  otherRoot.resolve("instances/o1"),
                  1),
              new Recorder());
      try {
        assertEquals(Set.of(), backend.ourInstanceIds());
        backend.removeOrphan("o1");
        assertTrue(docker.inspectContainerCmd("buildhost-o1").exec().getState().getRunning());
      } finally {
        theirs.release();
      }
    }
  }

  // --- images
  // ------------------------------------------------------------------------------------------

  @Test
  void aCorruptTarballIsRefusedClearlyAndLeavesNothingBehind() throws Exception {
    byte[] sampleTar = Files.readAllBytes(ContainerFixtures.sample().file("image.tar"));
    Revision revision =
        ContainerFixtures.ownMachine(root.resolve("machines"), "corrupt", "image.tar", "sleep 1");
    Path tarball = revision.file("image.tar");
    ContainerFixtures.write(
        tarball, java.util.Arrays.copyOf(sampleTar, sampleTar.length / 2 + 100));
    Set<String> danglingBefore = ContainerFixtures.danglingImages(docker);

    BackendException e =
        assertThrows(
            BackendException.class, () -> backend.launch(spec("x1", revision, 1), new Recorder()));
    assertTrue(
        e.getMessage().contains(tarball.toString()) && e.getMessage().contains("truncated"),
        e.getMessage());

    assertEquals(List.of(), ContainerFixtures.tagsOf(docker, revision.machine()));
    assertEquals(danglingBefore, ContainerFixtures.danglingImages(docker));
    assertEquals(Set.of(), backend.ourInstanceIds());
  }

  @Test
  void aSavedImageWhoseLayerTheEngineRefusesLeavesNothingBehind() throws Exception {
    // Well-formed as a tar and as a docker save archive, but its layer does not match its config.
    Revision revision =
        ContainerFixtures.ownMachine(root.resolve("machines"), "badlayer", "image.tar", "sleep 1");
    Path tarball = revision.file("image.tar");
    ContainerFixtures.write(tarball, SavedArchive.withLayerNotMatchingItsConfig());
    Set<String> danglingBefore = ContainerFixtures.danglingImages(docker);

    BackendException e =
        assertThrows(
            BackendException.class, () -> backend.launch(spec("x2", revision, 1), new Recorder()));
    assertTrue(
        e.getMessage().contains(tarball.toString()) && e.getMessage().contains("refused"),
        e.getMessage());
    assertEquals(List.of(), ContainerFixtures.tagsOf(docker, revision.machine()));
    assertEquals(danglingBefore, ContainerFixtures.danglingImages(docker));
    assertEquals(Set.of(), backend.ourInstanceIds());
  }

  @Test
  void aDockerSaveArchiveIsLoadedAndTaggedForItsRevision() throws Exception {
    backend.images().ensure(ContainerFixtures.sample());
    Revision revision =
        ContainerFixtures.ownMachine(
            root.resolve("machines"),
            "saved",
            "image.tar",
            "/bin/sh -c 'echo from-a-saved-image; exit 7'");
    imagesToRemove.add(ImageLoader.tagFor(revision));
    try (InputStream saved = docker.saveImageCmd(SAMPLE_TAG).exec()) {
      Files.copy(saved, revision.file("image.tar"));
    }
    Recorder recorder = new Recorder();
    LaunchSpec spec = spec("d1", revision, 1);
    Guest guest = backend.launch(spec, recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 7), recorder.awaitStopped());
      assertTrue(Files.readString(spec.consoleLog()).contains("from-a-saved-image"));
      assertEquals(
          docker.inspectImageCmd(SAMPLE_TAG).exec().getId(),
          docker.inspectImageCmd(ImageLoader.tagFor(revision)).exec().getId());
      assertTrue(backend.images().isLoaded(revision));
    } finally {
      guest.release();
    }
  }

  @Test
  void aChangedTarballYieldsANewImage() throws Exception {
    Revision revision =
        ContainerFixtures.ownMachine(
            root.resolve("machines"), "changed", "image.tar", "cat /version");
    String tag = ImageLoader.tagFor(revision);
    imagesToRemove.add(tag);
    Path tarball = revision.file("image.tar");
    ContainerFixtures.write(tarball, ContainerFixtures.busyboxRootfs(Map.of("version", "one\n")));
    backend.images().ensure(revision);
    InspectImageResponse first = docker.inspectImageCmd(tag).exec();
    backend.images().ensure(revision);
    assertEquals(
        first.getId(), docker.inspectImageCmd(tag).exec().getId(), "unchanged: not loaded again");
    assertEquals(
        1,
        progress.stream()
            .filter(line -> line.startsWith("importing") && line.contains("done"))
            .count(),
        progress::toString);

    LaunchSpec spec = spec("v2", revision, 1);
    backend.prepare(spec); // its container is made from the first image

    ContainerFixtures.write(tarball, ContainerFixtures.busyboxRootfs(Map.of("version", "two\n")));
    Recorder recorder = new Recorder();
    Guest guest = backend.launch(spec, recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 0), recorder.awaitStopped());
      assertEquals("two\n", Files.readString(spec.consoleLog()));
    } finally {
      guest.release();
    }
    InspectImageResponse second = docker.inspectImageCmd(tag).exec();
    assertNotEquals(first.getId(), second.getId());
    assertEquals(
        Checksums.sha256(tarball), second.getConfig().getLabels().get(ImageLoader.LABEL_SHA256));
    assertFalse(imageExists(first.getId()), "the replaced image is removed");
  }

  @Test
  void anImageRemovedBehindTheBackendsBackIsLoadedAgain() throws Exception {
    Revision revision =
        ContainerFixtures.ownMachine(
            root.resolve("machines"), "removed", "image.tar", "echo loaded-again");
    String tag = ImageLoader.tagFor(revision);
    imagesToRemove.add(tag);
    ContainerFixtures.write(revision.file("image.tar"), ContainerFixtures.busyboxRootfs(Map.of()));
    String first = backend.images().ensure(revision);
    assertEquals(docker.inspectImageCmd(tag).exec().getId(), first);
    docker.removeImageCmd(tag).withForce(true).exec();

    Recorder recorder = new Recorder();
    LaunchSpec spec = spec("g1", revision, 1);
    Guest guest = backend.launch(spec, recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 0), recorder.awaitStopped());
      assertEquals("loaded-again\n", Files.readString(spec.consoleLog()));
    } finally {
      guest.release();
    }
    assertTrue(imageExists(tag), "imported again under its tag");
  }

  @Test
  void concurrentStartsOfOneRevisionLoadItOnce() throws Exception {
    Revision revision =
        ContainerFixtures.ownMachine(root.resolve("machines"), "once", "image.tar", "sleep 1");
    imagesToRemove.add(ImageLoader.tagFor(revision));
    ContainerFixtures.write(revision.file("image.tar"), ContainerFixtures.busyboxRootfs(Map.of()));
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Callable<String>> loads =
          Collections.nCopies(6, () -> backend.images().ensure(revision));
      String imageId = null;
      for (Future<String> load : pool.invokeAll(loads)) {
        String loaded = load.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(imageId == null ? loaded : imageId, loaded);
        imageId = loaded;
      }
      assertEquals(docker.inspectImageCmd(ImageLoader.tagFor(revision)).exec().getId(), imageId);
    } finally {
      pool.shutdownNow();
    }
    assertEquals(
        1,
        progress.stream()
            .filter(line -> line.startsWith("importing") && line.contains("done"))
            .count(),
        progress::toString);
  }

  @Test
  void aLocalImageReferenceIsUsedAsItIsAndAnAbsentOneIsAClearError() throws Exception {
    backend.images().ensure(ContainerFixtures.sample());
    Revision byReference =
        ContainerFixtures.ownMachine(root.resolve("machines"), "ref", SAMPLE_TAG, "true");
    Recorder recorder = new Recorder();
    Guest guest = backend.launch(spec("l1", byReference, 1), recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 0), recorder.awaitStopped());
    } finally {
      guest.release();
    }
    Revision absent =
        ContainerFixtures.ownMachine(
            root.resolve("machines"), "absent", "buildhost/absent-it:0", "true");
    BackendException e =
        assertThrows(
            BackendException.class, () -> backend.launch(spec("l2", absent, 1), new Recorder()));
    assertTrue(
        e.getMessage().contains("image 'buildhost/absent-it:0'")
            && e.getMessage().contains("never pulled"),
        e.getMessage());
  }

  @Test
  void aCommandThatCannotRunEndsWithExitCode127AndSaysWhy() throws Exception {
    // Docker's init starts first and then fails to exec the command, as a shell would.
    Recorder recorder = new Recorder();
    LaunchSpec spec = spec("n1", ContainerFixtures.sampleRunning("/no/such/program"), 1);
    Guest guest = backend.launch(spec, recorder);
    try {
      assertEquals(new Stopped(EndReason.POWEROFF, 127), recorder.awaitStopped());
      assertTrue(Files.readString(spec.consoleLog()).contains("/no/such/program"));
    } finally {
      guest.release();
    }
  }

  // --- helpers
  // -------------------------------------------------------------------------------------

  private LaunchSpec spec(String id, Revision revision, int tftpPort) {
    return new LaunchSpec(id, revision, root.resolve("instances").resolve(id), tftpPort);
  }

  private static boolean imageExists(String reference) {
    try {
      docker.inspectImageCmd(reference).exec();
      return true;
    } catch (com.github.dockerjava.api.exception.NotFoundException e) {
      return false;
    }
  }

  private static void awaitConsole(Path log, String text) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!(Files.exists(log) && Files.readString(log).contains(text))) {
      assertTrue(System.nanoTime() < deadline, "no '" + text + "' in " + log);
      Thread.sleep(50);
    }
  }

  record Stopped(EndReason reason, Integer exitCode) {}

  /** Records a guest's reported life. */
  static final class Recorder implements GuestListener {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final CompletableFuture<Void> running = new CompletableFuture<>();
    final CompletableFuture<Stopped> stopped = new CompletableFuture<>();

    @Override
    public void onRunning() {
      calls.add("running");
      running.complete(null);
    }

    @Override
    public void onStopped(EndReason reason, Integer exitCode) {
      calls.add("stopped");
      stopped.complete(new Stopped(reason, exitCode));
    }

    void awaitRunning() throws Exception {
      running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    Stopped awaitStopped() throws Exception {
      return stopped.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    boolean ranBeforeStopping() {
      return calls.equals(List.of("running", "stopped"));
    }
  }

  /** docker save archives made by hand. */
  static final class SavedArchive {
    private SavedArchive() {}

    /** One image whose config names a layer diff id that its layer.tar does not have. */
    static byte[] withLayerNotMatchingItsConfig() throws IOException {
      byte[] layer = ContainerFixtures.busyboxRootfs(Map.of());
      String config =
          "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
              + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
              + "0".repeat(64)
              + "\"]}}";
      String configName = Checksums.sha256(config.getBytes(StandardCharsets.UTF_8)) + ".json";
      String layerDir = "1".repeat(64);
      String manifest =
          "[{\"Config\":\""
              + configName
              + "\",\"RepoTags\":null,\"Layers\":[\""
              + layerDir
              + "/layer.tar\"]}]";
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(bytes)) {
        put(tar, layerDir + "/layer.tar", layer);
        put(tar, configName, config.getBytes(StandardCharsets.UTF_8));
        put(tar, "manifest.json", manifest.getBytes(StandardCharsets.UTF_8));
      }
      return bytes.toByteArray();
    }

    private static void put(
        org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar,
        String name,
        byte[] content)
        throws IOException {
      var entry = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(name);
      entry.setSize(content.length);
      tar.putArchiveEntry(entry);
      tar.write(content);
      tar.closeArchiveEntry();
    }
  }
}
