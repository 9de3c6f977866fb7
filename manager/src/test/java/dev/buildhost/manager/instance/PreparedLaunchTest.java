package dev.buildhost.manager.instance;

import static dev.buildhost.manager.instance.TestMachines.await;
import static dev.buildhost.manager.instance.TestMachines.portFree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The next launch of a machine, prepared while its last instance runs (see PreparedLaunches). */
class PreparedLaunchTest {
  @TempDir Path root;

  private final FakeBackend backend = new FakeBackend.Preparing();
  private InstanceManager manager;
  private volatile Revision small;
  private volatile Revision other;

  @BeforeEach
  void prepareAhead() {
    small = TestMachines.revision(root, "small", 256L);
    other = TestMachines.revision(root, "other", 256L);
  }

  private void open(int ports) {
    manager =
        InstanceManager.open(
            TestMachines.config(root, ports, 4, 4096, Duration.ofSeconds(5)),
            machine ->
                switch (machine) {
                  case "small" -> small;
                  case "other" -> {
                    if (other == null) {
                      throw new ManagerException(
                          ManagerException.Kind.NOT_FOUND, "machine other was deleted");
                    }
                    yield other;
                  }
                  default ->
                      throw new ManagerException(
                          ManagerException.Kind.NOT_FOUND, "no machine " + machine);
                },
            List.of(backend));
  }

  @AfterEach
  void close() {
    if (manager != null) {
      manager.close();
    }
  }

  /**
   * Waits until the manager holds a launch of the machine ready (the backend's guest exists a
   * moment before that) and returns it as the backend prepared it.
   */
  private LaunchSpec awaitPrepared(String machine) {
    await(
        "a launch prepared for " + machine,
        () -> manager.preparedLaunch(machine).isPresent() && preparedFor(machine) != null);
    LaunchSpec spec = preparedFor(machine);
    assertEquals(manager.preparedLaunch(machine), Optional.of(spec.instanceId()));
    return spec;
  }

  private LaunchSpec preparedFor(String machine) {
    return backend.prepared.values().stream()
        .filter(spec -> spec.revision().machine().equals(machine))
        .findFirst()
        .orElse(null);
  }

  @Test
  void theNextStartOfAMachineTakesTheLaunchPreparedWhileTheLastOneRan() {
    open(8);
    Instance first = manager.start(StartRequest.of("small"));
    LaunchSpec ahead = awaitPrepared("small");
    assertTrue(ahead.instanceId().matches("small-\\d{8}-\\d{6}-[0-9a-f]{4}"), ahead.instanceId());
    assertNotEquals(first.id(), ahead.instanceId());
    assertNotEquals(first.tftpPort(), ahead.tftpPort());

    Instance second = manager.start(StartRequest.of("small"));

    assertEquals(ahead.instanceId(), second.id());
    assertEquals(ahead.tftpPort(), second.tftpPort());
    assertEquals(List.of(ahead), backend.launchedPrepared);
    assertFalse(
        portFree(second.tftpPort()), "the instance's TFTP server serves on the prepared port");
    LaunchSpec next = awaitPrepared("small");
    assertNotEquals(second.id(), next.instanceId());
    assertTrue(backend.discarded.isEmpty(), backend.discarded::toString);
  }

  @Test
  void removingTheLeftoversOfDeletedRevisionsDiscardsTheLaunchesPreparedForThem() {
    open(8);
    manager.start(StartRequest.of("small"));
    manager.start(StartRequest.of("other"));
    LaunchSpec keep = awaitPrepared("small");
    LaunchSpec deleted = awaitPrepared("other");
    other = null;

    assertEquals(List.of(), manager.removeLeftoversExcept(Set.of()), "the fake keeps no images");

    assertEquals(List.of(deleted.instanceId()), backend.discarded);
    assertEquals(Optional.empty(), manager.preparedLaunch("other"));
    assertEquals(Optional.of(keep.instanceId()), manager.preparedLaunch("small"));
  }

  @Test
  void aLaunchPreparedForARevisionNoLongerInServiceIsDiscarded() {
    open(8);
    manager.start(StartRequest.of("small"));
    LaunchSpec ahead = awaitPrepared("small");
    small =
        new Revision("small", "2.0", root.resolve("machines/small/small-2.0"), small.manifest());

    Instance second = manager.start(StartRequest.of("small"));

    assertEquals("2.0", second.revision());
    assertNotEquals(ahead.instanceId(), second.id());
    await("the old launch discarded", () -> backend.discarded.contains(ahead.instanceId()));
    assertTrue(backend.launchedPrepared.isEmpty());
    await(
        "a launch prepared for 2.0",
        () ->
            preparedFor("small") != null
                && preparedFor("small").revision().version().equals("2.0"));
  }

  @Test
  void aStartThatFindsNoFreePortTakesThePortOfALaunchPreparedForAnotherMachine() {
    open(2);
    manager.start(StartRequest.of("small"));
    LaunchSpec ahead = awaitPrepared("small");

    Instance otherInstance = manager.start(StartRequest.of("other"));

    assertEquals(ahead.tftpPort(), otherInstance.tftpPort());
    assertEquals(List.of(ahead.instanceId()), backend.discarded);
  }

  @Test
  void aStartThatFailsAfterTakingAPreparedLaunchLeavesNothingAndFreesItsPort() {
    open(2);
    manager.start(StartRequest.of("small"));
    LaunchSpec ahead = awaitPrepared("small");
    backend.failLaunchWith = "the engine refused";

    ManagerException refused =
        assertThrows(ManagerException.class, () -> manager.start(StartRequest.of("small")));

    assertTrue(refused.getMessage().contains("the engine refused"), refused.getMessage());
    assertEquals(EndReason.FAILED_TO_START, manager.get(ahead.instanceId()).endReason());
    assertEquals(List.of(ahead.instanceId()), backend.discarded);
    backend.failLaunchWith = null;
    assertEquals(
        ahead.tftpPort(),
        manager.start(StartRequest.of("small")).tftpPort(),
        "the port of the failed start is free again (the range has two)");
  }

  @Test
  void closingTheManagerDiscardsThePreparedLaunches() {
    open(8);
    manager.start(StartRequest.of("small"));
    manager.start(StartRequest.of("other"));
    LaunchSpec small = awaitPrepared("small");
    LaunchSpec other = awaitPrepared("other");

    manager.close();

    assertTrue(backend.prepared.isEmpty(), backend.prepared::toString);
    assertEquals(
        List.of(other.instanceId(), small.instanceId()),
        backend.discarded.stream().sorted().toList());
  }
}
