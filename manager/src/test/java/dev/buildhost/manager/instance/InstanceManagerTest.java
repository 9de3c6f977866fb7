package dev.buildhost.manager.instance;

import static dev.buildhost.manager.instance.TestMachines.await;
import static dev.buildhost.manager.instance.TestMachines.portFree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.StartLayer;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.tftp.TFTP;
import org.apache.commons.net.tftp.TFTPClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceManagerTest {
  @TempDir Path root;

  private final FakeBackend backend = new FakeBackend();
  private final VirtualTime time = new VirtualTime(Instant.parse("2026-03-01T12:00:00Z"));
  private final List<InstanceEvent> events = new CopyOnWriteArrayList<>();
  private InstanceManager manager;
  private Revision small;
  private Revision big;

  private InstanceManager open(ManagerConfig config, FakeBackend fake) {
    small = TestMachines.revision(root, "small", 256L);
    big = TestMachines.revision(root, "big", 600L);
    InstanceManager opened =
        InstanceManager.open(
            config,
            machine ->
                switch (machine) {
                  case "small" -> small;
                  case "big" -> big;
                  default ->
                      throw new ManagerException(
                          ManagerException.Kind.NOT_FOUND, "no machine " + machine);
                },
            List.of(fake),
            time.clock(),
            time.scheduler());
    opened.subscribe(events::add);
    return opened;
  }

  private InstanceManager open() {
    manager = open(TestMachines.config(root, 8, 4, 4096, Duration.ofSeconds(5)), backend);
    return manager;
  }

  @AfterEach
  void close() {
    if (manager != null) {
      manager.close();
    }
  }

  private FakeBackend.FakeGuest guest(Instance instance) {
    return backend.guests.get(instance.id());
  }

  private InstanceState state(String id) {
    return manager.get(id).state();
  }

  private List<InstanceEvent.Kind> kindsOf(String id) {
    return events.stream()
        .filter(e -> e.instance().id().equals(id))
        .map(InstanceEvent::kind)
        .toList();
  }

  @Test
  void anInstanceRunsServesItsFolderOverTftpAndIsReleasedWhenTheGuestPowersOff() throws Exception {
    open();
    Instance started =
        manager.start(
            new StartRequest(
                "small",
                null,
                Map.of("task.manifest", "command: true\n".getBytes(StandardCharsets.UTF_8))));
    String id = started.id();
    assertTrue(id.matches("small-\\d{8}-\\d{6}-[0-9a-f]{4}"), id);
    await("running", () -> state(id) == InstanceState.RUNNING);
    int port = manager.get(id).tftpPort();
    assertFalse(portFree(port), "the instance's TFTP server holds its port");
    assertEquals(root.resolve("instances").resolve(id), backend.launched.get(0).instanceDir());
    assertTrue(Files.isRegularFile(root.resolve("state/instances").resolve(id + ".json")));

    TFTPClient client = new TFTPClient();
    client.open();
    try {
      ByteArrayOutputStream task = new ByteArrayOutputStream();
      client.receiveFile(
          "task.manifest", TFTP.BINARY_MODE, task, InetAddress.getLoopbackAddress(), port);
      assertEquals("command: true\n", task.toString(StandardCharsets.UTF_8));
      client.sendFile(
          "result.manifest",
          TFTP.BINARY_MODE,
          new ByteArrayInputStream("status: success\n".getBytes(StandardCharsets.UTF_8)),
          InetAddress.getLoopbackAddress(),
          port);
    } finally {
      client.close();
    }
    await("upload event", () -> kindsOf(id).contains(InstanceEvent.Kind.FILE_UPLOADED));
    assertEquals(
        "result.manifest",
        events.stream()
            .filter(e -> e.kind() == InstanceEvent.Kind.FILE_UPLOADED)
            .findFirst()
            .orElseThrow()
            .detail());

    guest(started).end(EndReason.POWEROFF, null);
    await("stopped", () -> state(id) == InstanceState.STOPPED);
    Instance stopped = manager.get(id);
    assertEquals(EndReason.POWEROFF, stopped.endReason());
    await("released after STOPPED", () -> guest(started).calls().contains("release"));
    assertTrue(portFree(port), "the TFTP port is released");
    try (InputStream result = manager.openFile(id, "result.manifest")) {
      assertEquals("status: success\n", new String(result.readAllBytes(), StandardCharsets.UTF_8));
    }
    await("stopped event", () -> kindsOf(id).contains(InstanceEvent.Kind.STOPPED));
    assertEquals(
        List.of(
            InstanceEvent.Kind.CREATED,
            InstanceEvent.Kind.RUNNING,
            InstanceEvent.Kind.FILE_UPLOADED,
            InstanceEvent.Kind.STOPPED),
        kindsOf(id));
  }

  @Test
  void aBackendThatCannotRemoveTheLeftoversOfDeletedRevisionsFailsTheRemovalWithItsReason() {
    manager = open();
    backend.leftoversFailure = new BackendException("dockerd does not answer");

    ManagerException failed =
        assertThrows(ManagerException.class, () -> manager.removeLeftoversExcept(Set.of()));

    assertEquals(ManagerException.Kind.BACKEND_FAILED, failed.kind());
    assertEquals(
        "cannot remove the leftovers of deleted KVM revisions: dockerd does not answer",
        failed.getMessage());
  }

  @Test
  void aGuestThatStopsRightAfterItStartsIsSeenRunningBeforeStopped() {
    open();
    backend.stopsAtOnce = true;
    for (int i = 0; i < 20; i++) {
      String id = manager.start(StartRequest.of("small")).id();
      await("stopped event", () -> kindsOf(id).contains(InstanceEvent.Kind.STOPPED));
      assertEquals(
          List.of(
              InstanceEvent.Kind.CREATED, InstanceEvent.Kind.RUNNING, InstanceEvent.Kind.STOPPED),
          kindsOf(id),
          "run " + i);
      assertNotNull(manager.get(id).runningAt(), "run " + i);
    }
  }

  @Test
  void poweroffAsksTheGuestAndEndsAsPoweroffWhenItComplies() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    await("running", () -> state(instance.id()) == InstanceState.RUNNING);
    manager.poweroff(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("shutdown", "release"), guest(instance).calls());
    // Events reach listeners on the event thread: the STOPPED one comes after STOPPING.
    await("events delivered", () -> kindsOf(instance.id()).contains(InstanceEvent.Kind.STOPPED));
    assertTrue(kindsOf(instance.id()).contains(InstanceEvent.Kind.STOPPING));
  }

  @Test
  void poweroffKillsAGuestThatIgnoresItAfterTheGracePeriod() {
    backend.honoursShutdown = false;
    manager = open(TestMachines.config(root, 4, 4, 4096, Duration.ofSeconds(30)), backend);
    Instance instance = manager.start(StartRequest.of("small"));
    assertEquals(InstanceState.STOPPING, manager.poweroff(instance.id()).state());
    await("shutdown asked", () -> guest(instance).calls().contains("shutdown"));
    time.advance(Duration.ofSeconds(29));
    assertEquals(InstanceState.STOPPING, state(instance.id()), "the grace period is not over");
    assertEquals(List.of("shutdown"), guest(instance).calls());
    time.advance(Duration.ofSeconds(1));
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.TERMINATED, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("shutdown", "kill", "release"), guest(instance).calls());
  }

  @Test
  void terminateKillsAtOnce() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    manager.terminate(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.TERMINATED, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("kill", "release"), guest(instance).calls());
  }

  @Test
  void aGuestWhoseEndIsNeverReportedAfterAKillIsReleasedByTheWatchdog() {
    backend.honoursKill = false;
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    manager.terminate(instance.id());
    await("kill sent", () -> guest(instance).calls().contains("kill"));
    time.advance(InstanceLifecycle.KILL_WATCHDOG.minusMillis(1));
    assertEquals(
        InstanceState.STOPPING,
        state(instance.id()),
        "the watchdog waits for the backend's report");
    assertFalse(portFree(instance.tftpPort()), "the port stays held while the guest may run");

    time.advance(Duration.ofMillis(1));
    await("released by the watchdog", () -> state(instance.id()) == InstanceState.STOPPED);
    Instance stopped = manager.get(instance.id());
    assertEquals(EndReason.TERMINATED, stopped.endReason());
    assertTrue(
        stopped.message().contains("did not report the end of the guest 30 s after it was killed"),
        stopped.message());
    assertEquals(time.now(), stopped.stoppedAt());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("kill", "release"), guest(instance).calls());
    assertTrue(portFree(instance.tftpPort()), "the port is free again");
    assertEquals(0, time.pending(), "no timer is left behind");
  }

  @Test
  void aGuestThatReportsItsEndAfterAKillDisarmsTheWatchdog() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    manager.terminate(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(0, time.pending(), "timeout and watchdog are cancelled");
    time.advance(InstanceLifecycle.KILL_WATCHDOG.plusSeconds(1));
    Instance stopped = manager.get(instance.id());
    assertNull(stopped.message(), "the watchdog never fired");
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("kill", "release"), guest(instance).calls());
  }

  @Test
  void anInstanceIsKilledAtItsTimeout() {
    open();
    Instance instance = manager.start(new StartRequest("small", Duration.ofMinutes(10), Map.of()));
    time.advance(Duration.ofMinutes(10).minusMillis(1));
    assertEquals(InstanceState.RUNNING, state(instance.id()), "a millisecond before its timeout");
    time.advance(Duration.ofMillis(1));
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.TIMEOUT, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("kill", "release"), guest(instance).calls());
  }

  @Test
  void aTimeoutTooLongForTheTimersIsRefusedBeforeAnythingRuns() {
    open();
    ManagerException refused =
        assertThrows(
            ManagerException.class,
            () ->
                manager.start(
                    new StartRequest(
                        "small", Duration.ofSeconds(10_000_000_000_000_000L), Map.of())));
    assertEquals(ManagerException.Kind.BAD_REQUEST, refused.kind());
    assertTrue(refused.getMessage().contains("at most 7 days (604800 s)"), refused.getMessage());
    assertEquals(List.of(), backend.launched, "no guest was launched");
    assertEquals(List.of(), manager.list());
    assertNotNull(manager.start(new StartRequest("small", InstanceManager.MAX_TIMEOUT, Map.of())));
  }

  @Test
  void aStartThatFailsAfterItsGuestWasLaunchedEndsThatGuest() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 4, 4096, Duration.ofSeconds(5));
    small = TestMachines.revision(root, "small", 256L);
    Scheduler broken =
        new Scheduler() {
          @Override
          public Task schedule(Duration delay, Runnable task) {
            throw new ArithmeticException("long overflow"); // what a huge timeout did to the timer
          }

          @Override
          public void close() {}
        };
    manager =
        InstanceManager.open(config, machine -> small, List.of(backend), time.clock(), broken);
    ManagerException failed =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
    assertEquals(ManagerException.Kind.BACKEND_FAILED, failed.kind());
    Instance instance = manager.list().get(0);
    assertEquals(InstanceState.STOPPED, instance.state());
    assertEquals(EndReason.FAILED_TO_START, instance.endReason());
    assertEquals(
        List.of("kill", "release"), guest(instance).calls(), "the launched guest is ended");
    assertEquals(Set.of(), backend.ourInstanceIds());
    assertTrue(portFree(instance.tftpPort()));
  }

  @Test
  void anEndTheJournalCannotRecordStillStopsTheInstanceAndIsRecordedOnceItCan() throws Exception {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    Path journal = root.resolve("state").resolve("instances");
    Path aside = root.resolve("state").resolve("instances.aside");
    Files.move(journal, aside);
    Files.writeString(journal, "not a folder: every journal write fails, as on a full disk");

    guest(instance).end(EndReason.POWEROFF, 0);
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, manager.get(instance.id()).endReason());
    JournalHealth lagging = manager.journalHealth();
    assertEquals(1, lagging.unwrittenRecords(), "the host shows the record it owes");
    assertEquals(1, lagging.failedWrites());
    assertTrue(
        lagging.lastError().startsWith("cannot write the journal record "), lagging.lastError());
    assertEquals(time.now(), lagging.lastErrorAt());
    assertTrue(portFree(instance.tftpPort()), "the port is free");
    await("stopped event", () -> kindsOf(instance.id()).contains(InstanceEvent.Kind.STOPPED));
    assertEquals(
        0,
        manager.list().stream().filter(i -> i.state() != InstanceState.STOPPED).count(),
        "its capacity is free");

    Files.delete(journal);
    Files.move(aside, journal);
    Path record = journal.resolve(instance.id() + ".json");
    assertTrue(
        Files.readString(record).contains("\"RUNNING\""), "the record is stale until the retry");
    time.advance(InstanceLifecycle.JOURNAL_RETRY_FIRST);
    await(
        "record written",
        () -> {
          try {
            return Files.readString(record).contains("\"STOPPED\"");
          } catch (IOException e) {
            return false;
          }
        });
    // The record is written before the count of unwritten ones goes down.
    await("caught up", () -> manager.journalHealth().unwrittenRecords() == 0);
    assertEquals(1, manager.journalHealth().failedWrites(), "the count of failures stays");
    manager.delete(instance.id());
    assertFalse(Files.exists(record));
  }

  @Test
  void aTerminateIsCarriedOutWhenTheJournalCannotRecordIt() throws Exception {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    Path journal = root.resolve("state").resolve("instances");
    Path aside = root.resolve("state").resolve("instances.aside");
    Files.move(journal, aside);
    Files.writeString(journal, "not a folder: every journal write fails, as on a full disk");

    manager.terminate(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.TERMINATED, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("kill", "release"), guest(instance).calls(), "the guest is ended");
    assertEquals(1, manager.journalHealth().unwrittenRecords());
    assertEquals(2, manager.journalHealth().failedWrites(), "the stop and the end");

    Files.delete(journal);
    Files.move(aside, journal);
    time.advance(InstanceLifecycle.JOURNAL_RETRY_FIRST);
    await("caught up", () -> manager.journalHealth().unwrittenRecords() == 0);
    assertTrue(
        Files.readString(journal.resolve(instance.id() + ".json")).contains("\"TERMINATED\""));
    assertEquals(0, time.pending(), "one retry, not one per failed write");
  }

  @Test
  void aGuestThatCrashesEndsAsCrashed() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    guest(instance).end(EndReason.CRASHED, null);
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.CRASHED, manager.get(instance.id()).endReason());
  }

  @Test
  void theInstanceCountIsCapped() {
    manager = open(TestMachines.config(root, 8, 2, 100_000, Duration.ofSeconds(5)), backend);
    Instance first = manager.start(StartRequest.of("small"));
    manager.start(StartRequest.of("small"));
    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
    assertEquals(ManagerException.Kind.NO_CAPACITY, refused.kind());
    assertTrue(refused.getMessage().contains("max-instances"), refused.getMessage());
    manager.terminate(first.id());
    await("stopped", () -> state(first.id()) == InstanceState.STOPPED);
    Instance next = manager.start(StartRequest.of("small"));
    await("running", () -> state(next.id()) == InstanceState.RUNNING);
  }

  @Test
  void theRamBudgetIsCapped() {
    manager = open(TestMachines.config(root, 8, 8, 1000, Duration.ofSeconds(5)), backend);
    manager.start(StartRequest.of("big"));
    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("big")));
    assertEquals(ManagerException.Kind.NO_CAPACITY, refused.kind());
    assertTrue(
        refused.getMessage().contains("600 MiB") && refused.getMessage().contains("ram-budget"),
        refused.getMessage());
    manager.start(StartRequest.of("small"));
  }

  @Test
  void aLaunchFailureReleasesThePortAndLeavesAFailedRecordWithTheReason() {
    open();
    backend.failLaunchWith = "libvirt says no";
    ManagerException failed =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
    assertEquals(ManagerException.Kind.BACKEND_FAILED, failed.kind());
    assertTrue(failed.getMessage().contains("libvirt says no"), failed.getMessage());
    Instance instance = manager.list().get(0);
    assertEquals(InstanceState.STOPPED, instance.state());
    assertEquals(EndReason.FAILED_TO_START, instance.endReason());
    assertTrue(instance.message().contains("libvirt says no"));
    assertTrue(portFree(instance.tftpPort()));
    assertTrue(
        Files.isDirectory(root.resolve("tftp").resolve(instance.id())), "the folder is kept");
    assertEquals(
        List.of(InstanceEvent.Kind.CREATED, InstanceEvent.Kind.FAILED, InstanceEvent.Kind.STOPPED),
        waitForEvents(instance.id(), 3));
  }

  private List<InstanceEvent.Kind> waitForEvents(String id, int count) {
    await(count + " events", () -> kindsOf(id).size() >= count);
    return kindsOf(id);
  }

  @Test
  void portsInUseElsewhereAreSkippedAndExhaustionIsAClearRefusal() throws Exception {
    ManagerConfig config = TestMachines.config(root, 2, 8, 100_000, Duration.ofSeconds(5));
    try (DatagramSocket squatter =
        new DatagramSocket(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), config.tftpPortFirst()))) {
      manager = open(config, backend);
      Instance instance = manager.start(StartRequest.of("small"));
      assertEquals(squatter.getLocalPort() + 1, instance.tftpPort());
      ManagerException refused =
          assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
      assertEquals(ManagerException.Kind.NO_CAPACITY, refused.kind());
      assertTrue(refused.getMessage().contains("no free TFTP port"), refused.getMessage());
      assertTrue(refused.getMessage().contains("1 in use by other programs"), refused.getMessage());
      assertEquals(
          List.of(instance.id()),
          manager.list().stream().map(Instance::id).toList(),
          "a start refused for want of a port leaves nothing");
      try (var folders = Files.list(root.resolve("tftp"))) {
        assertEquals(1, folders.count());
      }
    }
  }

  @Test
  void deleteRefusesARunningInstanceAndRemovesAStoppedOne() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    ManagerException conflict =
        assertThrows(ManagerException.class, () -> manager.delete(instance.id()));
    assertEquals(ManagerException.Kind.CONFLICT, conflict.kind());
    manager.terminate(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    manager.delete(instance.id());
    assertFalse(Files.exists(root.resolve("tftp").resolve(instance.id())));
    assertFalse(Files.exists(root.resolve("instances").resolve(instance.id())));
    assertFalse(Files.exists(root.resolve("state/instances").resolve(instance.id() + ".json")));
    assertEquals(
        ManagerException.Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> manager.get(instance.id())).kind());
    await("deleted event", () -> kindsOf(instance.id()).contains(InstanceEvent.Kind.DELETED));
  }

  @Test
  void drainingRefusesNewInstancesButKeepsRunningOnes() {
    open();
    Instance running = manager.start(StartRequest.of("small"));
    await("running", () -> state(running.id()) == InstanceState.RUNNING);
    manager.setDraining(true);
    assertTrue(manager.isDraining());
    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
    assertEquals(ManagerException.Kind.NO_CAPACITY, refused.kind());
    assertTrue(refused.getMessage().contains("draining"));
    assertEquals(InstanceState.RUNNING, manager.get(running.id()).state());
    manager.setDraining(false);
    manager.start(StartRequest.of("small"));
  }

  @Test
  void fileNamesThatLeaveTheFolderOrAreHiddenAreRefused() throws IOException {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    for (String bad :
        List.of(
            "../x",
            "..",
            "a/b",
            "/etc/passwd",
            ".hidden",
            ".put-1.tmp",
            "",
            "a\u0000b",
            "-rf",
            "..\\x")) {
      ManagerException refused =
          assertThrows(
              ManagerException.class,
              () -> manager.putFile(instance.id(), bad, new ByteArrayInputStream(new byte[1])),
              bad);
      assertEquals(ManagerException.Kind.BAD_REQUEST, refused.kind(), bad);
      assertEquals(
          ManagerException.Kind.BAD_REQUEST,
          assertThrows(ManagerException.class, () -> manager.openFile(instance.id(), bad)).kind(),
          bad);
    }
    assertThrows(
        ManagerException.class,
        () -> manager.start(new StartRequest("small", null, Map.of("../escape", new byte[1]))));
    manager.putFile(
        instance.id(),
        "task.manifest",
        new ByteArrayInputStream("abc".getBytes(StandardCharsets.UTF_8)));
    Files.writeString(
        root.resolve("tftp").resolve(instance.id()).resolve(".upload.tmp"), "partial");
    List<FileEntry> files = manager.listFiles(instance.id());
    assertEquals(1, files.size());
    assertEquals("task.manifest", files.get(0).name());
    assertEquals(3, files.get(0).size());
    assertEquals(
        ManagerException.Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> manager.openFile(instance.id(), "absent"))
            .kind());
    assertEquals(
        ManagerException.Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> manager.listFiles("no-such-instance")).kind());
  }

  @Test
  void aClosedManagerRefusesToActAndLeavesGuestsRunning() {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    manager.close();
    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.terminate(instance.id()));
    assertEquals(ManagerException.Kind.CONFLICT, refused.kind());
    assertEquals(
        ManagerException.Kind.CONFLICT,
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small"))).kind());
    assertEquals(List.of(), guest(instance).calls(), "closing touches no guest");
    assertTrue(backend.closed, "the manager closes its backends");
    assertTrue(portFree(instance.tftpPort()), "closing stops the TFTP servers");
  }

  @Test
  @SuppressWarnings("InputStreamSlowMultibyteRead") // a slow byte-at-a-time client is the point
  void anInterruptedPutLeavesNeitherAPartialFileNorItsTemporaryFile() throws IOException {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    manager.putFile(
        instance.id(),
        "task.manifest",
        new ByteArrayInputStream("old".getBytes(StandardCharsets.UTF_8)));
    InputStream failing =
        new InputStream() {
          private int sent;

          @Override
          public int read() throws IOException {
            if (sent++ < 10_000) {
              return 'x';
            }
            throw new IOException("client went away");
          }
        };
    ManagerException failed =
        assertThrows(
            ManagerException.class, () -> manager.putFile(instance.id(), "task.manifest", failing));
    assertTrue(failed.getMessage().contains("client went away"), failed.getMessage());
    try (InputStream kept = manager.openFile(instance.id(), "task.manifest")) {
      assertEquals("old", new String(kept.readAllBytes(), StandardCharsets.UTF_8));
    }
    try (var files = Files.list(root.resolve("tftp").resolve(instance.id()))) {
      assertEquals(List.of("task.manifest"), files.map(f -> f.getFileName().toString()).toList());
    }
  }

  @Test
  void unknownMachinesAndBadRequestsAreRefused() {
    open();
    assertEquals(
        ManagerException.Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("nope"))).kind());
    assertEquals(
        ManagerException.Kind.BAD_REQUEST,
        assertThrows(
                ManagerException.class,
                () -> manager.start(new StartRequest("small", Duration.ZERO, null)))
            .kind());
    assertEquals(
        ManagerException.Kind.BAD_REQUEST,
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of(" "))).kind());
    assertTrue(manager.list().isEmpty(), "a refused start leaves nothing");
  }

  @Test
  void aSubscriberThatBlocksDelaysNeitherTheLifecycleNorOtherSubscribers() throws Exception {
    open();
    CountDownLatch never = new CountDownLatch(1);
    AutoCloseable stuck =
        manager.subscribe(
            event -> {
              try {
                never.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Instance instance = manager.start(StartRequest.of("small"));
    manager.terminate(instance.id());
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    await(
        "events to the other subscriber",
        () -> kindsOf(instance.id()).contains(InstanceEvent.Kind.STOPPED));
    stuck.close();
    never.countDown();
  }

  @Test
  void theConsoleLogIsServedOnceTheGuestWroteIt() throws IOException {
    open();
    Instance instance = manager.start(StartRequest.of("small"));
    assertEquals(
        ManagerException.Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> manager.openConsoleLog(instance.id())).kind());
    Files.writeString(guest(instance).spec.consoleLog(), "booting\n");
    try (InputStream log = manager.openConsoleLog(instance.id())) {
      assertEquals("booting\n", new String(log.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void anAdoptedInstanceStillShowsTheBootstrappedStateItStartedFromAndCountsAsItsUser()
      throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    StartLayer layer = new StartLayer("small-1.0/stable@0123456789ab", null, null);
    Instance onState = manager.start(StartRequest.of("small"), new StartOptions(null, layer, null));
    Instance bare = manager.start(StartRequest.of("small"));
    assertEquals(layer.stateId(), manager.startedFrom(onState.id()));
    manager.close();

    FakeBackend restarted = new FakeBackend();
    restarted.live.add(onState.id());
    restarted.live.add(bare.id());
    manager = open(config, restarted);

    assertEquals(layer.stateId(), manager.startedFrom(onState.id()));
    assertEquals(null, manager.startedFrom(bare.id()));
    assertEquals(Map.of(onState.id(), layer.stateId()), manager.startedFrom());
    restarted.guests.get(onState.id()).end(EndReason.POWEROFF, null);
    await("adopted instance stops", () -> state(onState.id()) == InstanceState.STOPPED);
    assertEquals(Map.of(), manager.startedFrom(), "a stopped instance uses no state");
    assertEquals(layer.stateId(), manager.startedFrom(onState.id()), "it still shows it");
  }

  @Test
  void aRestartAdoptsLiveGuestsEndsVanishedOnesAndRemovesOrphans() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    Instance survivor = manager.start(StartRequest.of("small"));
    Instance vanished = manager.start(StartRequest.of("small"));
    Instance finished = manager.start(StartRequest.of("small"));
    manager.terminate(finished.id());
    await("stopped", () -> state(finished.id()) == InstanceState.STOPPED);
    Files.writeString(
        LaunchSpec.overlayDisk(root.resolve("instances").resolve(vanished.id())), "overlay");
    Files.writeString(
        LaunchSpec.overlayDisk(root.resolve("instances").resolve(finished.id())), "overlay");
    manager.close();
    assertTrue(portFree(survivor.tftpPort()), "close stops the TFTP servers");

    Path leftover = root.resolve("instances").resolve("small-20200101-000000-abcd");
    Files.createDirectories(leftover);
    Files.writeString(LaunchSpec.overlayDisk(leftover), "overlay");
    FakeBackend restarted = new FakeBackend();
    restarted.live.add(survivor.id());
    restarted.live.add("orphan-20200101-000000-0001");
    manager = open(config, restarted);

    Instance adopted = manager.get(survivor.id());
    assertEquals(InstanceState.RUNNING, adopted.state());
    assertTrue(restarted.guests.get(survivor.id()).adopted);
    assertEquals(survivor.tftpPort(), adopted.tftpPort());
    assertFalse(
        portFree(survivor.tftpPort()), "the adopted instance's TFTP server is back on its port");

    Instance crashed = manager.get(vanished.id());
    assertEquals(InstanceState.STOPPED, crashed.state());
    assertEquals(EndReason.CRASHED, crashed.endReason());
    assertTrue(crashed.message().contains("gone"), crashed.message());
    assertEquals(EndReason.TERMINATED, manager.get(finished.id()).endReason());
    assertFalse(
        Files.exists(LaunchSpec.overlayDisk(root.resolve("instances").resolve(finished.id()))));

    assertEquals(List.of("orphan-20200101-000000-0001"), restarted.removedOrphans);
    assertFalse(Files.exists(leftover), "a folder no record claims is removed");

    restarted.guests.get(survivor.id()).end(EndReason.POWEROFF, null);
    await("adopted instance stops", () -> state(survivor.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, manager.get(survivor.id()).endReason());
    assertTrue(portFree(survivor.tftpPort()));
  }

  @Test
  void aDaemonRestartedDuringADrainGoesOnDraining() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    manager.setDraining(true);
    manager.close();

    manager = open(config, new FakeBackend());
    assertTrue(manager.isDraining(), "the drain outlives the daemon");
    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));
    assertEquals(ManagerException.Kind.NO_CAPACITY, refused.kind());
    manager.setDraining(false);
    manager.close();

    manager = open(config, new FakeBackend());
    assertFalse(manager.isDraining(), "an ended drain stays ended");
  }

  @Test
  void aDrainEndsWithTheRebootItWasFor() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    manager.setDraining(true);
    manager.close();
    Files.writeString(config.stateDir().resolve("draining"), "boot-id-of-an-earlier-boot\n");

    manager = open(config, new FakeBackend());
    assertFalse(manager.isDraining(), "after the reboot the host takes work again");
    assertNotNull(manager.start(StartRequest.of("small")));
  }

  @Test
  void anUnreadableRecordNeverCostsItsGuestOrItsFiles() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    Instance instance = manager.start(StartRequest.of("small"));
    manager.putFile(
        instance.id(),
        "result.manifest",
        new ByteArrayInputStream("status: success\n".getBytes(StandardCharsets.UTF_8)));
    manager.close();
    Path record = config.stateDir().resolve("instances").resolve(instance.id() + ".json");
    String text = Files.readString(record);
    Files.writeString(record, text.substring(0, text.indexOf("\"revision\" : {")));

    for (int restart = 1; restart <= 2; restart++) {
      FakeBackend restarted = new FakeBackend();
      restarted.live.add(instance.id());
      manager = open(config, restarted);
      assertEquals(
          List.of(),
          restarted.removedOrphans,
          "restart " + restart + ": the guest is not an orphan");
      assertTrue(
          Files.exists(config.tftpDir().resolve(instance.id()).resolve("result.manifest")),
          "restart " + restart + ": the uploaded result is kept");
      assertTrue(
          Files.isDirectory(config.instancesDir().resolve(instance.id())), "restart " + restart);
      Instance unknown = manager.get(instance.id());
      assertEquals(InstanceState.UNKNOWN, unknown.state(), "restart " + restart);
      assertNull(unknown.stoppedAt(), "its guest may run");
      assertEquals("small", unknown.machine());
      assertEquals(instance.tftpPort(), unknown.tftpPort(), "the port the record still names");
      assertTrue(
          unknown.message().contains(record + ".bad cannot be read: Unexpected end-of-input"),
          unknown.message());
      assertTrue(unknown.message().contains("(line "), unknown.message());
      assertFalse(portFree(instance.tftpPort()), "its port is served as before");
      if (restart == 1) {
        manager.close();
      }
    }
    // No new instance gets its port: the range has 8 ports, the other 7 go to new instances.
    for (int i = 0; i < 7; i++) {
      assertTrue(manager.start(StartRequest.of("small")).tftpPort() != instance.tftpPort());
    }
    assertEquals(
        ManagerException.Kind.NO_CAPACITY,
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small"))).kind(),
        "every slot is taken: the UNKNOWN instance with a guest takes one");
    assertEquals(
        ManagerException.Kind.CONFLICT,
        assertThrows(ManagerException.class, () -> manager.poweroff(instance.id())).kind());
  }

  @Test
  void anUnknownInstanceIsTerminatedAndDeletedByTheOperator() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    Instance instance = manager.start(StartRequest.of("small"));
    manager.close();
    Path record = config.stateDir().resolve("instances").resolve(instance.id() + ".json");
    Files.writeString(record, Files.readString(record).replace("\"RUNNING\"", "\"PAUSED\""));

    FakeBackend restarted = new FakeBackend();
    restarted.live.add(instance.id());
    manager = open(config, restarted);
    Instance unknown = manager.get(instance.id());
    assertEquals(InstanceState.UNKNOWN, unknown.state());
    assertTrue(unknown.message().contains("PAUSED"), unknown.message());

    Instance terminated = manager.terminate(instance.id());
    assertEquals(InstanceState.UNKNOWN, terminated.state(), "still unknown, its guest gone");
    assertEquals(time.now(), terminated.stoppedAt());
    assertEquals(List.of(instance.id()), restarted.removedOrphans, "its guest is ended by id");
    assertEquals(Set.of(), restarted.ourInstanceIds());
    assertTrue(terminated.message().contains("terminated"), terminated.message());
    assertFalse(portFree(instance.tftpPort()), "the port stays held until delete");
    assertTrue(Files.isDirectory(config.tftpDir().resolve(instance.id())));

    manager.delete(instance.id());
    assertEquals(List.of(), manager.list());
    assertFalse(Files.exists(config.tftpDir().resolve(instance.id())));
    assertFalse(Files.exists(config.instancesDir().resolve(instance.id())));
    assertFalse(Files.exists(Path.of(record + ".bad")), "the damaged record is removed");
    assertTrue(portFree(instance.tftpPort()), "the port is free again");
    await("deleted event", () -> kindsOf(instance.id()).contains(InstanceEvent.Kind.DELETED));
    manager.close();
    manager = open(config, new FakeBackend());
    assertEquals(List.of(), manager.list(), "nothing of it comes back");
  }

  @Test
  void anUnknownInstanceWithoutAGuestTakesNoSlotAndIsDeletedWithItsFolders() throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 1, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    Instance instance = manager.start(StartRequest.of("small"));
    manager.close();
    Path record = config.stateDir().resolve("instances").resolve(instance.id() + ".json");
    Files.write(record, new byte[] {0, 1, 2, (byte) 0xff});

    manager = open(config, new FakeBackend()); // its guest is gone
    Instance unknown = manager.get(instance.id());
    assertEquals(InstanceState.UNKNOWN, unknown.state());
    assertEquals(time.now(), unknown.stoppedAt(), "no guest runs");
    assertEquals("small", unknown.machine(), "from its id");
    assertEquals(0, unknown.tftpPort(), "nothing can be made out of the record");
    assertTrue(unknown.message().contains("no guest with its id runs"), unknown.message());
    assertTrue(Files.isDirectory(config.tftpDir().resolve(instance.id())), "its folders are kept");
    Instance other = manager.start(StartRequest.of("small"));
    assertNotNull(other, "the one slot is free: the UNKNOWN instance has no guest");

    manager.delete(instance.id());
    assertFalse(Files.exists(config.tftpDir().resolve(instance.id())));
    assertFalse(Files.exists(Path.of(record + ".bad")));
    assertEquals(List.of(other.id()), manager.list().stream().map(Instance::id).toList());
  }

  @Test
  void aTerminateDuringASlowLaunchIsCarriedOutAndNothingWaitsForTheLaunch() throws Exception {
    open();
    Instance other = manager.start(StartRequest.of("small"));
    backend.launchGate = new CountDownLatch(1);
    ExecutorService starter = Executors.newSingleThreadExecutor();
    try {
      Future<Instance> start = starter.submit(() -> manager.start(StartRequest.of("small")));
      assertTrue(backend.launchEntered.await(15, TimeUnit.SECONDS), "the launch is under way");
      String id =
          manager.list().stream()
              .filter(i -> !i.id().equals(other.id()))
              .findFirst()
              .orElseThrow()
              .id();
      assertEquals(InstanceState.STARTING, state(id));

      // While the image loads, everyone is answered at once.
      Duration prompt = Duration.ofSeconds(10);
      assertEquals(
          InstanceState.STOPPING,
          assertTimeoutPreemptively(prompt, () -> manager.poweroff(other.id())).state());
      Instance asked = assertTimeoutPreemptively(prompt, () -> manager.terminate(id));
      assertEquals(InstanceState.STOPPING, asked.state(), "the terminate is recorded");
      assertEquals(
          ManagerException.Kind.CONFLICT,
          assertTimeoutPreemptively(
                  prompt, () -> assertThrows(ManagerException.class, () -> manager.delete(id)))
              .kind());
      assertEquals(
          InstanceState.STOPPING,
          assertTimeoutPreemptively(prompt, () -> manager.poweroff(id)).state());
      assertEquals(0, backend.guests.get(id) == null ? 0 : 1, "no guest yet");

      backend.launchGate.countDown();
      Instance launched = start.get(15, TimeUnit.SECONDS);
      assertTrue(
          launched.state() == InstanceState.STOPPING || launched.state() == InstanceState.STOPPED,
          "the start answers what became of it, not STARTING: " + launched.state());
      await("stopped", () -> state(id) == InstanceState.STOPPED);
      Instance stopped = manager.get(id);
      assertEquals(EndReason.TERMINATED, stopped.endReason());
      // The guest is released after STOPPED is out, on the lifecycle's thread.
      await("released", () -> backend.guests.get(id).calls().contains("release"));
      assertEquals(List.of("kill", "release"), backend.guests.get(id).calls());
      assertFalse(backend.ourInstanceIds().contains(id), "the launched guest is gone");
      assertTrue(portFree(stopped.tftpPort()), "its port is free");
      await("stopped event", () -> kindsOf(id).contains(InstanceEvent.Kind.STOPPED));
      assertEquals(
          List.of(
              InstanceEvent.Kind.CREATED, InstanceEvent.Kind.STOPPING, InstanceEvent.Kind.STOPPED),
          kindsOf(id),
          "never back to STARTING or RUNNING");
      await("other stopped", () -> state(other.id()) == InstanceState.STOPPED);
      assertEquals(0, time.pending(), "no timer is left behind");
    } finally {
      backend.launchGate.countDown();
      starter.shutdownNow();
    }
  }

  @Test
  void aPoweroffDuringASlowLaunchShutsTheGuestDownOnceLaunched() throws Exception {
    open();
    backend.launchGate = new CountDownLatch(1);
    ExecutorService starter = Executors.newSingleThreadExecutor();
    try {
      Future<Instance> start = starter.submit(() -> manager.start(StartRequest.of("small")));
      assertTrue(backend.launchEntered.await(15, TimeUnit.SECONDS));
      String id = manager.list().get(0).id();
      assertEquals(
          InstanceState.STOPPING,
          assertTimeoutPreemptively(Duration.ofSeconds(10), () -> manager.poweroff(id)).state());
      backend.launchGate.countDown();
      start.get(15, TimeUnit.SECONDS);
      await("stopped", () -> state(id) == InstanceState.STOPPED);
      assertEquals(EndReason.POWEROFF, manager.get(id).endReason());
      // The guest is released after STOPPED is out, on the lifecycle's thread.
      await("released", () -> backend.guests.get(id).calls().contains("release"));
      assertEquals(List.of("shutdown", "release"), backend.guests.get(id).calls());
      assertEquals(0, time.pending());
    } finally {
      backend.launchGate.countDown();
      starter.shutdownNow();
    }
  }

  @Test
  void aGuestThatEndsBeforeItsLaunchReturnsIsReleasedOnceTheManagerHasIt() {
    open();
    backend.endsBeforeLaunchReturns = true;
    Instance instance = manager.start(StartRequest.of("small"));
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> guest(instance).calls().contains("release"));
    assertEquals(List.of("release"), guest(instance).calls());
    assertTrue(portFree(manager.get(instance.id()).tftpPort()));
    assertEquals(0, time.pending(), "its timeout is not armed");
  }

  @Test
  void aStartingRecordWhoseGuestRunsIsAdoptedAsRunning() throws Exception {
    // RUNNING is published before it is journaled; a crash in between leaves this record.
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    backend.reportsRunning = false;
    manager = open(config, backend);
    Instance starting = manager.start(StartRequest.of("small"));
    assertEquals(InstanceState.STARTING, manager.get(starting.id()).state());
    manager.close();

    FakeBackend restarted = new FakeBackend();
    restarted.live.add(starting.id());
    manager = open(config, restarted);
    Instance adopted = manager.get(starting.id());
    assertEquals(InstanceState.RUNNING, adopted.state());
    assertNotNull(adopted.runningAt());
    assertTrue(restarted.guests.get(starting.id()).adopted);
  }

  @Test
  void anAdoptedInstanceWhoseDeadlinePassedWhileTheDaemonWasDownIsKilledAsTimedOut()
      throws Exception {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    manager = open(config, backend);
    Instance instance = manager.start(new StartRequest("small", Duration.ofMinutes(5), Map.of()));
    manager.close();
    time.advance(Duration.ofMinutes(6));
    FakeBackend restarted = new FakeBackend();
    restarted.live.add(instance.id());
    manager = open(config, restarted);
    assertEquals(InstanceState.RUNNING, state(instance.id()), "adopted first");
    time.advance(Duration.ZERO);
    await("timed out", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.TIMEOUT, manager.get(instance.id()).endReason());
    // The guest is released after STOPPED is out, on the lifecycle's thread.
    await("released", () -> restarted.guests.get(instance.id()).calls().contains("release"));
    assertEquals(List.of("kill", "release"), restarted.guests.get(instance.id()).calls());
  }

  @Test
  void aStopRequestedBeforeACrashIsCarriedOutAfterTheRestart() {
    ManagerConfig config = TestMachines.config(root, 8, 8, 100_000, Duration.ofSeconds(5));
    backend.honoursShutdown = false;
    manager = open(config, backend);
    Instance instance = manager.start(StartRequest.of("small"));
    manager.poweroff(instance.id());
    manager.close();
    FakeBackend restarted = new FakeBackend();
    restarted.live.add(instance.id());
    manager = open(config, restarted);
    await("stopped", () -> state(instance.id()) == InstanceState.STOPPED);
    assertEquals(EndReason.POWEROFF, manager.get(instance.id()).endReason());
    assertEquals("shutdown", restarted.guests.get(instance.id()).calls().get(0));
    assertNull(manager.get(instance.id()).exitCode());
  }
}
