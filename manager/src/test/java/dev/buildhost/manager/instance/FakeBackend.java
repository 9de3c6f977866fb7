package dev.buildhost.manager.instance;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.PreparesAhead;
import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A backend whose guests are plain objects the test drives: it records every call and lets the test
 * report the guest's life through the listener the manager gave.
 */
class FakeBackend implements InstanceBackend {
  /** The fake backend that also prepares launches ahead, as the Docker backend does. */
  static final class Preparing extends FakeBackend implements PreparesAhead {}

  FakeBackend() {
    this(ConcurrentHashMap.newKeySet());
  }

  /** A backend on the host whose guests are {@code live}. */
  FakeBackend(Set<String> live) {
    this.live = live;
  }

  private final ExecutorService reportThreads =
      Executors.newCachedThreadPool(Threads.daemonFactory("fake-backend-reports"));
  final Map<String, FakeGuest> guests = new ConcurrentHashMap<>();

  /**
   * The guests that exist on the fake host; shared by the backends of one host (a restart adopts
   * them).
   */
  final Set<String> live;

  final List<String> removedOrphans = new CopyOnWriteArrayList<>();
  final List<LaunchSpec> launched = new CopyOnWriteArrayList<>();
  volatile String failLaunchWith;

  /**
   * When set, a launch waits for this latch before it does anything (a slow image load or overlay
   * creation); {@link #launchEntered} tells the test the launch got there.
   */
  volatile CountDownLatch launchGate;

  final CountDownLatch launchEntered = new CountDownLatch(1);

  /** Whether a guest stops by itself when asked to shut down (ACPI honoured). */
  volatile boolean honoursShutdown = true;

  /** Whether a guest reports its end when killed (else the manager's kill watchdog must end it). */
  volatile boolean honoursKill = true;

  /** Whether a launched guest reports running at once (else it stays STARTING). */
  volatile boolean reportsRunning = true;

  /** Whether a guest powers off right after it reports running, from the same backend thread. */
  volatile boolean stopsAtOnce;

  /**
   * Whether a guest powers off during its launch, and the launch returns only once the manager was
   * handed that end (the end comes before the manager has the guest).
   */
  volatile boolean endsBeforeLaunchReturns;

  volatile boolean closed;

  /** What removing the leftovers of deleted revisions throws (null: it removes nothing). */
  volatile BackendException leftoversFailure;

  final Map<String, LaunchSpec> prepared = new ConcurrentHashMap<>();
  final List<String> discarded = new CopyOnWriteArrayList<>();

  /** Launches that took what was prepared for them. */
  final List<LaunchSpec> launchedPrepared = new CopyOnWriteArrayList<>();

  @Override
  public MachineType type() {
    return MachineType.KVM;
  }

  @Override
  public List<String> removeLeftoversExcept(Set<RevisionName> left) throws BackendException {
    BackendException failure = leftoversFailure;
    if (failure != null) {
      throw failure;
    }
    return List.of();
  }

  @Override
  public Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException {
    CountDownLatch gate = launchGate;
    if (gate != null) {
      launchEntered.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BackendException("interrupted while loading the image");
      }
    }
    LaunchSpec ahead = prepared.remove(spec.instanceId());
    if (ahead != null && (failLaunchWith != null || !ahead.equals(spec))) {
      discarded.add(ahead.instanceId());
    }
    if (failLaunchWith != null) {
      throw new BackendException(failLaunchWith);
    }
    if (spec.revision().machine().startsWith("broken")) {
      throw new BackendException("machine " + spec.revision().machine() + " has no disk to boot");
    }
    if (spec.equals(ahead)) {
      launchedPrepared.add(spec);
    }
    launched.add(spec);
    FakeGuest guest = new FakeGuest(spec, listener);
    guests.put(spec.instanceId(), guest);
    live.add(spec.instanceId());
    if (!reportsRunning) {
      return guest;
    }
    guest.reports.runningNow();
    if (endsBeforeLaunchReturns) {
      guest.end(EndReason.POWEROFF, 0);
      CountDownLatch handedOver = new CountDownLatch(1);
      guest.reports.inOrder(handedOver::countDown);
      try {
        handedOver.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return guest;
    }
    if (stopsAtOnce) {
      guest.end(EndReason.POWEROFF, 0);
    }
    return guest;
  }

  public void prepare(LaunchSpec spec) {
    prepared.put(spec.instanceId(), spec);
  }

  public void discardPrepared(String instanceId) {
    if (prepared.remove(instanceId) != null) {
      discarded.add(instanceId);
    }
  }

  @Override
  public Set<String> ourInstanceIds() {
    return Set.copyOf(live);
  }

  @Override
  public Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException {
    if (!live.contains(spec.instanceId())) {
      throw new BackendException("no guest " + spec.instanceId());
    }
    FakeGuest guest = new FakeGuest(spec, listener);
    guest.adopted = true;
    guests.put(spec.instanceId(), guest);
    return guest;
  }

  @Override
  public void removeOrphan(String instanceId) {
    removedOrphans.add(instanceId);
    live.remove(instanceId);
  }

  @Override
  public void close() {
    closed = true;
    reportThreads.shutdown();
  }

  final class FakeGuest implements Guest {
    final LaunchSpec spec;
    final GuestListener listener;
    final GuestReports reports;
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile boolean adopted;

    FakeGuest(LaunchSpec spec, GuestListener listener) {
      this.spec = spec;
      this.listener = listener;
      this.reports = GuestReports.forLaunch(listener, reportThreads);
    }

    @Override
    public String instanceId() {
      return spec.instanceId();
    }

    /** The guest ends by itself (as if it powered off or crashed). */
    void end(EndReason reason, Integer exitCode) {
      live.remove(spec.instanceId());
      reports.stopped(reason, exitCode);
    }

    @Override
    public void shutdown() {
      calls.add("shutdown");
      if (honoursShutdown) {
        end(EndReason.POWEROFF, null);
      }
    }

    @Override
    public void kill() {
      calls.add("kill");
      if (honoursKill) {
        end(EndReason.CRASHED, null);
      }
    }

    @Override
    public void release() {
      calls.add("release");
      live.remove(spec.instanceId());
    }

    List<String> calls() {
      return new ArrayList<>(calls);
    }
  }
}
