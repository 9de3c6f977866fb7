package dev.buildhost.manager.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.EndReason;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link InstanceBackend} must do, as the manager relies on it: run against the fake
 * backend and the libvirt backend on {@code test:///default} in the unit tests, and against the
 * real libvirtd and dockerd in the integration tests. A subclass says how to make a backend and
 * what it can launch.
 */
public abstract class InstanceBackendContract {
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final List<InstanceBackend> opened = new ArrayList<>();
  private final List<Guest> launched = new ArrayList<>();

  /** A new backend on the same host and state folder as the ones made before in the test. */
  protected abstract InstanceBackend makeBackend() throws Exception;

  /** The spec of a guest the backend can launch, for the instance {@code id}. */
  protected abstract LaunchSpec launchable(String id) throws Exception;

  /** The spec of a launch that must fail: the machine's files are missing. */
  protected abstract LaunchSpec broken(String id) throws Exception;

  /** How long the backend may take to report (a real guest, a real engine). */
  protected Duration patience() {
    return Duration.ofSeconds(30);
  }

  /** An instance id as the manager makes them, unique to this run. */
  protected String newId() {
    return "contract-"
        + ID_TIME.format(Instant.now())
        + "-"
        + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  }

  private InstanceBackend backend() throws Exception {
    InstanceBackend backend = makeBackend();
    opened.add(backend);
    return backend;
  }

  private Guest launch(InstanceBackend backend, LaunchSpec spec, Recorder recorder)
      throws BackendException {
    Guest guest = backend.launch(spec, recorder);
    launched.add(guest);
    return guest;
  }

  @AfterEach
  void releaseAndClose() {
    for (Guest guest : launched) {
      try {
        guest.kill();
        guest.release();
      } catch (RuntimeException e) {
        // the test's own failure is what counts
      }
    }
    opened.forEach(InstanceBackend::close);
  }

  @Test
  void aLaunchedGuestRunsIsListedAndReportsItsEndOnceWhenKilled() throws Exception {
    InstanceBackend backend = backend();
    String id = newId();
    Recorder recorder = new Recorder();
    Guest guest = launch(backend, launchable(id), recorder);
    assertEquals(id, guest.instanceId());
    recorder.awaitRunning(patience());
    assertTrue(backend.ourInstanceIds().contains(id), "a running guest is listed as ours");

    guest.kill();
    assertNotNull(recorder.awaitStopped(patience()));
    guest.release();
    guest.release(); // idempotent
    assertFalse(backend.ourInstanceIds().contains(id), "a released guest is gone");
    assertEquals(List.of("running", "stopped"), recorder.calls, "each report once, in order");
  }

  @Test
  void aLaunchThatFailsSaysWhyAndLeavesNothing() throws Exception {
    InstanceBackend backend = backend();
    String id = newId();
    BackendException failure =
        assertThrows(BackendException.class, () -> launch(backend, broken(id), new Recorder()));
    assertFalse(
        failure.getMessage() == null || failure.getMessage().isBlank(), "the failure says why");
    assertFalse(backend.ourInstanceIds().contains(id), "a failed launch leaves no guest");
  }

  @Test
  void aGuestThatOutlivesItsBackendIsAdoptedByTheNextAndReportsItsEnd() throws Exception {
    InstanceBackend first = backend();
    String id = newId();
    Recorder firstRecorder = new Recorder();
    launch(first, launchable(id), firstRecorder);
    firstRecorder.awaitRunning(patience());
    InstanceBackend next = backend();
    // Connected before the first backend goes: libvirt's in-process test driver forgets its
    // domains when its last connection closes (a real libvirtd keeps them).
    next.ourInstanceIds();
    first.close(); // the daemon exits; its guests run on

    Set<String> found = next.ourInstanceIds();
    assertTrue(found.contains(id), "the next backend finds the guest " + id + " among " + found);
    Recorder recorder = new Recorder();
    Guest adopted = next.adopt(launchable(id), recorder);
    launched.add(adopted);
    assertEquals(id, adopted.instanceId());
    adopted.kill();
    recorder.awaitStopped(patience());
    adopted.release();
    assertFalse(next.ourInstanceIds().contains(id));
    assertEquals(
        "stopped",
        recorder.calls.get(recorder.calls.size() - 1),
        "nothing after the end: " + recorder.calls);
    assertEquals(
        1, recorder.calls.stream().filter("stopped"::equals).count(), "one end: " + recorder.calls);
  }

  @Test
  void aGuestThatDoesNotExistCannotBeAdopted() throws Exception {
    InstanceBackend backend = backend();
    assertThrows(BackendException.class, () -> backend.adopt(launchable(newId()), new Recorder()));
  }

  @Test
  void anOrphanIsRemoved() throws Exception {
    InstanceBackend backend = backend();
    String id = newId();
    Recorder recorder = new Recorder();
    launch(backend, launchable(id), recorder);
    recorder.awaitRunning(patience());
    backend.removeOrphan(id);
    assertFalse(backend.ourInstanceIds().contains(id), "the orphan is gone");
  }

  /** Records the reports of one guest. */
  protected static final class Recorder implements GuestListener {
    final List<String> calls = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Void> running = new CompletableFuture<>();
    private final CompletableFuture<EndReason> stopped = new CompletableFuture<>();

    @Override
    public void onRunning() {
      calls.add("running");
      running.complete(null);
    }

    @Override
    public void onStopped(EndReason reason, Integer exitCode) {
      calls.add("stopped");
      stopped.complete(reason);
    }

    void awaitRunning(Duration patience) throws Exception {
      running.get(patience.toMillis(), TimeUnit.MILLISECONDS);
    }

    EndReason awaitStopped(Duration patience) throws Exception {
      return stopped.get(patience.toMillis(), TimeUnit.MILLISECONDS);
    }
  }
}
