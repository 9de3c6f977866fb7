package dev.buildhost.it.container;

import static dev.buildhost.it.container.ContainerFixtures.SAMPLE_TAG;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Container instances through the one lifecycle ({@link InstanceManager}) and the Docker backend,
 * against the real dockerd, with the sample-container's worker and the manager's own writable TFTP
 * servers: task in, result out, exit codes, grace period, timeout, clean-up, adoption after a
 * daemon restart, 16 at once.
 */
class InstanceManagerContainerIT {

  private static final Duration GRACE = Duration.ofSeconds(2);
  private static final Duration WAIT = Duration.ofSeconds(90);

  private static DockerClient docker;

  @TempDir Path root;

  private final Map<String, Revision> machines = new ConcurrentHashMap<>();
  private final List<InstanceEvent> events = new CopyOnWriteArrayList<>();
  private ManagerConfig config;
  private InstanceManager manager;

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
  void open() {
    machines.put("sample-container", ContainerFixtures.sample());
    machines.put(
        "stubborn",
        ContainerFixtures.sampleRunning(
            "/bin/sh -c \"trap '' TERM; echo ignoring-sigterm; while :; do sleep 1; done\""));
    machines.put("sleeper", ContainerFixtures.sampleRunning("sleep 1000"));
    // a 200 MiB buffer in a machine of 64 MiB (ram-minimum of the sample)
    machines.put(
        "hog", ContainerFixtures.sampleRunning("dd if=/dev/zero of=/dev/null bs=200M count=1"));
    config = ContainerFixtures.config(root, 16, GRACE);
    manager = openManager();
  }

  private InstanceManager openManager() {
    InstanceManager opened =
        InstanceManager.open(config, this::revision, List.of(new DockerBackend(config)));
    opened.subscribe(events::add);
    return opened;
  }

  private Revision revision(String machine) {
    Revision revision = machines.get(machine);
    if (revision == null) {
      throw new ManagerException(ManagerException.Kind.NOT_FOUND, "no machine " + machine);
    }
    return revision;
  }

  @AfterEach
  void close() {
    for (Instance instance : manager.list()) {
      if (instance.state() != InstanceState.STOPPED) {
        manager.terminate(instance.id());
      }
    }
    manager.list().forEach(instance -> awaitState(instance.id(), InstanceState.STOPPED));
    manager.close();
    machines.values().stream()
        .filter(revision -> revision.machine().startsWith("it-"))
        .forEach(
            revision -> Daemons.removeImage(docker, "buildhost/" + revision.machine() + ":1.0"));
    List<String> left =
        ContainerFixtures.containersOf(docker, root).stream().map(c -> c.getNames()[0]).toList();
    ContainerFixtures.removeContainers(docker, root);
    assertEquals(List.of(), left, "containers left behind");
  }

  /** A container is removed right after its instance's STOPPED is out. */
  private void awaitRemoved(String instanceId) {
    await("the container of " + instanceId + " is removed once it ended")
        .atMost(Duration.ofSeconds(30))
        .until(() -> ContainerFixtures.containersOf(docker, root, instanceId).isEmpty());
  }

  @Test
  void taskInResultOutThenTheContainerIsGoneAndTheImageStays() throws Exception {
    Instance started =
        manager.start(
            new StartRequest(
                "sample-container",
                null,
                Map.of(TaskManifest.FILE_NAME, task("echo manager-$((6 * 7))"))));
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);

    assertEquals(EndReason.POWEROFF, stopped.endReason(), stopped::toString);
    assertEquals(0, stopped.exitCode());
    ResultManifest result = result(started.id());
    assertEquals("success", result.status(), result::log);
    assertTrue(result.logLines().contains("manager-42"), result::log);
    String console = text(manager.openConsoleLog(started.id()));
    assertTrue(
        console.contains("buildhost-worker: TFTP endpoint 127.0.0.1:" + started.tftpPort()),
        console);
    assertTrue(console.contains("manager-42"), console);
    // RUNNING and FILE_UPLOADED come from different threads (the engine's report, the TFTP
    // server) and a fast worker uploads before RUNNING is published: their order is not fixed.
    List<InstanceEvent.Kind> kinds = kinds(started.id());
    assertEquals(InstanceEvent.Kind.CREATED, kinds.get(0), kinds::toString);
    assertEquals(InstanceEvent.Kind.STOPPED, kinds.get(kinds.size() - 1), kinds::toString);
    assertEquals(
        java.util.Set.of(
            InstanceEvent.Kind.CREATED,
            InstanceEvent.Kind.RUNNING,
            InstanceEvent.Kind.FILE_UPLOADED,
            InstanceEvent.Kind.STOPPED),
        java.util.Set.copyOf(kinds));
    assertEquals(4, kinds.size(), kinds::toString);
    awaitRemoved(started.id());
    docker.inspectImageCmd(SAMPLE_TAG).exec(); // the image is kept for the next instance
  }

  @Test
  void theTasksExitCodeIsTheInstances() throws Exception {
    Instance started =
        manager.start(
            new StartRequest(
                "sample-container",
                null,
                Map.of(TaskManifest.FILE_NAME, task("echo failing-now", "exit 3"))));
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, stopped.endReason());
    assertEquals(3, stopped.exitCode());
    assertEquals(3, result(started.id()).exitCode());
  }

  @Test
  void aContainerThatIgnoresSigtermIsKilledAfterTheGracePeriod() throws Exception {
    Instance started = manager.start(StartRequest.of("stubborn"));
    awaitState(started.id(), InstanceState.RUNNING);
    awaitConsole(started.id(), "ignoring-sigterm");
    long poweroffAt = System.nanoTime();
    manager.poweroff(started.id());
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);
    Duration took = Duration.ofNanos(System.nanoTime() - poweroffAt);

    assertEquals(EndReason.TERMINATED, stopped.endReason());
    assertEquals(137, stopped.exitCode(), "killed by SIGKILL");
    assertTrue(
        took.compareTo(GRACE.minusMillis(100)) >= 0,
        "it was killed before the grace period ended: " + took);
  }

  @Test
  void poweroffOfACommandThatHonoursSigtermEndsAtOnce() throws Exception {
    Instance started = manager.start(StartRequest.of("sleeper"));
    awaitState(started.id(), InstanceState.RUNNING);
    manager.poweroff(started.id());
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);
    assertEquals(143, stopped.exitCode(), "ended by SIGTERM");
  }

  @Test
  void aContainerKilledForWantingMoreMemoryThanItsMachineHasEndsCrashed() throws Exception {
    Instance started = manager.start(StartRequest.of("hog"));
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);
    assertEquals(EndReason.CRASHED, stopped.endReason(), stopped::toString);
    assertEquals(137, stopped.exitCode(), "killed by the kernel's OOM killer");
    awaitRemoved(started.id());
  }

  @Test
  void terminateAndTimeoutKillTheContainer() throws Exception {
    Instance terminated = manager.start(StartRequest.of("sleeper"));
    awaitState(terminated.id(), InstanceState.RUNNING);
    manager.terminate(terminated.id());
    Instance ended = awaitState(terminated.id(), InstanceState.STOPPED);
    assertEquals(EndReason.TERMINATED, ended.endReason());
    assertEquals(137, ended.exitCode());

    Instance timed = manager.start(new StartRequest("sleeper", Duration.ofSeconds(2), Map.of()));
    Instance timedOut = awaitState(timed.id(), InstanceState.STOPPED);
    assertEquals(EndReason.TIMEOUT, timedOut.endReason());
  }

  @Test
  void aCorruptImageTarballFailsTheStartClearlyAndLeavesNothing() throws Exception {
    byte[] sample = java.nio.file.Files.readAllBytes(ContainerFixtures.sample().file("image.tar"));
    Revision corrupt =
        ContainerFixtures.ownMachine(root.resolve("machines"), "corrupt", "image.tar", null);
    // Cut inside the data: the end of a tar is zero padding, which could go unnoticed.
    ContainerFixtures.write(corrupt.file("image.tar"), Arrays.copyOf(sample, sample.length / 3));
    machines.put("corrupt", corrupt);
    var danglingBefore = ContainerFixtures.danglingImages(docker);

    ManagerException e =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("corrupt")));
    assertEquals(ManagerException.Kind.BACKEND_FAILED, e.kind());
    assertTrue(e.getMessage().contains(corrupt.file("image.tar").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());

    Instance failed = manager.list().get(0);
    assertEquals(EndReason.FAILED_TO_START, failed.endReason());
    assertEquals(List.of(), ContainerFixtures.tagsOf(docker, corrupt.machine()));
    assertEquals(danglingBefore, ContainerFixtures.danglingImages(docker));
    assertTrue(ContainerFixtures.containersOf(docker, root).isEmpty());
  }

  @Test
  void aRestartedManagerAdoptsItsRunningContainer() throws Exception {
    Instance started = manager.start(StartRequest.of("sleeper"));
    awaitState(started.id(), InstanceState.RUNNING);
    manager.close(); // the daemon goes away; the container runs on

    manager = openManager();
    assertEquals(InstanceState.RUNNING, awaitState(started.id(), InstanceState.RUNNING).state());
    manager.terminate(started.id());
    Instance stopped = awaitState(started.id(), InstanceState.STOPPED);
    assertEquals(EndReason.TERMINATED, stopped.endReason());
    assertEquals(137, stopped.exitCode());
  }

  @Test
  void sixteenContainersAtOnce() throws Exception {
    int count = 16;
    ExecutorService pool = Executors.newFixedThreadPool(count);
    List<Instance> started = new ArrayList<>();
    try {
      List<Future<Instance>> starts = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        // Long enough for all sixteen to be up together even on a busy two-core machine.
        byte[] task = task("echo instance-" + i, "sleep 10");
        starts.add(
            pool.submit(
                () ->
                    manager.start(
                        new StartRequest(
                            "sample-container", null, Map.of(TaskManifest.FILE_NAME, task)))));
      }
      for (Future<Instance> start : starts) {
        started.add(start.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
    for (int i = 0; i < count; i++) {
      Instance stopped = awaitState(started.get(i).id(), InstanceState.STOPPED);
      assertEquals(EndReason.POWEROFF, stopped.endReason(), stopped::toString);
      assertEquals(0, stopped.exitCode(), stopped::toString);
      ResultManifest result = result(stopped.id());
      assertTrue(result.logLines().contains("instance-" + i), result::log);
    }
    assertEquals(count, peakRunning(), "all of them ran at the same time");
    for (Instance instance : started) {
      awaitRemoved(instance.id());
    }
  }

  @Test
  void theNextStartOfAMachineRunsTheContainerPreparedWhileTheLastOneRan() throws Exception {
    Instance first =
        manager.start(
            new StartRequest(
                "sample-container", null, Map.of(TaskManifest.FILE_NAME, task("echo first"))));
    Container prepared = awaitPreparedContainer("sample-container");
    String preparedFor = prepared.getLabels().get(DockerBackend.LABEL_INSTANCE);
    assertNotEquals(first.id(), preparedFor);
    awaitState(first.id(), InstanceState.STOPPED);

    // The task waits, so that the container can be looked at while it runs.
    Instance second =
        manager.start(
            new StartRequest(
                "sample-container",
                null,
                Map.of(TaskManifest.FILE_NAME, task("echo second-$((6 * 7))", "sleep 3"))));

    assertEquals(preparedFor, second.id());
    assertEquals(
        prepared.getId(),
        docker.inspectContainerCmd(DockerBackend.containerName(second.id())).exec().getId(),
        "the prepared container itself runs");
    Instance stopped = awaitState(second.id(), InstanceState.STOPPED);
    assertEquals(0, stopped.exitCode(), stopped::toString);
    ResultManifest result = result(second.id());
    assertTrue(result.logLines().contains("second-42"), result::log);
    String console = text(manager.openConsoleLog(second.id()));
    assertTrue(
        console.contains("buildhost-worker: TFTP endpoint 127.0.0.1:" + second.tftpPort()),
        console);
  }

  @Test
  void aPreparedContainerRemovedBehindTheManagersBackIsCreatedAgain() throws Exception {
    manager.start(StartRequest.of("sleeper"));
    Container prepared = awaitPreparedContainer("sample-container");
    docker.removeContainerCmd(prepared.getId()).exec(); // as `docker container prune` would

    Instance second = manager.start(StartRequest.of("sleeper"));

    assertEquals(prepared.getLabels().get(DockerBackend.LABEL_INSTANCE), second.id());
    assertEquals(InstanceState.RUNNING, second.state());
    assertEquals(
        "running",
        docker
            .inspectContainerCmd(DockerBackend.containerName(second.id()))
            .exec()
            .getState()
            .getStatus());
  }

  @Test
  void aPreparedContainerOfARevisionNoLongerInServiceIsRemoved() throws Exception {
    manager.start(StartRequest.of("sleeper"));
    Container prepared = awaitPreparedContainer("sample-container");
    machines.put("sleeper", ContainerFixtures.sampleRunning("sleep 999"));

    Instance second = manager.start(StartRequest.of("sleeper"));

    assertNotEquals(prepared.getLabels().get(DockerBackend.LABEL_INSTANCE), second.id());
    assertEquals(
        List.of("sleep", "999"),
        Arrays.asList(
            docker
                .inspectContainerCmd(DockerBackend.containerName(second.id()))
                .exec()
                .getConfig()
                .getCmd()));
    await("the prepared container of the old revision removed")
        .atMost(WAIT)
        .until(
            () ->
                ContainerFixtures.containersOf(docker, root).stream()
                    .noneMatch(c -> c.getId().equals(prepared.getId())));
  }

  /**
   * The container created ahead for the next instance of the machine (never started), once the
   * manager holds it as the machine's next launch: the engine has the container a moment before.
   */
  private Container awaitPreparedContainer(String machine) {
    String id =
        await("a launch of " + machine + " prepared by the manager")
            .atMost(WAIT)
            .until(() -> manager.preparedLaunch(machine), Optional::isPresent)
            .orElseThrow();
    Container container =
        ContainerFixtures.containersOf(docker, root).stream()
            .filter(c -> id.equals(c.getLabels().get(DockerBackend.LABEL_INSTANCE)))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no container of the prepared launch " + id));
    assertEquals("created", container.getState(), "the prepared container is not started");
    assertEquals(machine, container.getLabels().get(DockerBackend.LABEL_MACHINE));
    return container;
  }

  /** The most instances that were RUNNING at one time, from the event stream. */
  private int peakRunning() {
    int running = 0;
    int peak = 0;
    for (InstanceEvent event : events) {
      if (event.kind() == InstanceEvent.Kind.RUNNING) {
        peak = Math.max(peak, ++running);
      } else if (event.kind() == InstanceEvent.Kind.STOPPED
          && event.instance().runningAt() != null) {
        running--;
      }
    }
    return peak;
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static byte[] task(String... commands) {
    return TaskManifest.of(commands).text().getBytes(StandardCharsets.UTF_8);
  }

  private ResultManifest result(String id) throws IOException {
    return ResultManifest.parse(text(manager.openFile(id, ResultManifest.FILE_NAME)));
  }

  private static String text(InputStream in) throws IOException {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private List<InstanceEvent.Kind> kinds(String id) {
    return events.stream()
        .filter(e -> e.instance().id().equals(id))
        .map(InstanceEvent::kind)
        .toList();
  }

  private Instance awaitState(String id, InstanceState state) {
    return awaitInstance(id, instance -> instance.state() == state, "state " + state);
  }

  private Instance awaitInstance(String id, Predicate<Instance> condition, String what) {
    return await("instance " + id + " reaching " + what)
        .atMost(WAIT)
        .until(() -> manager.get(id), condition);
  }

  private void awaitConsole(String id, String text) {
    await("'" + text + "' in the console log of " + id)
        .atMost(WAIT)
        .until(() -> consoleOrNothing(id).contains(text));
  }

  private String consoleOrNothing(String id) throws IOException {
    try {
      return text(manager.openConsoleLog(id));
    } catch (ManagerException notYet) {
      return ""; // no output yet
    }
  }
}
