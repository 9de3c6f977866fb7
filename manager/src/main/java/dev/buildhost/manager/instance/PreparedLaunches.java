package dev.buildhost.manager.instance;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.PreparesAhead;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.tftp.TftpPortPool;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The next launch of each machine, prepared in the background after an instance of it starts: an
 * instance id and a TFTP port reserved for it, and the guest created but not started (for a
 * container, the engine's create: 10 to 20 ms of a start). The next start of the machine takes it
 * when the machine's revision in service is still the one it was prepared for; otherwise it is
 * discarded.
 *
 * <p>Only machines whose backend {@linkplain PreparesAhead prepares ahead} get one. A prepared
 * launch is not journaled: if the daemon dies, reconciliation at the next start removes its guest
 * as an orphan. Its id carries the time it was prepared, not the time it started.
 */
final class PreparedLaunches implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PreparedLaunches.class);

  /** The backends that prepare ahead, by the machine type they run. */
  private final Map<MachineType, PreparesAhead> preparers;

  /** The manager's lock over ids and capacity, which also guards the fields below. */
  private final Object lock;

  private final TftpPortPool ports;

  /**
   * Makes the spec of a new instance of a revision on a port (a fresh id, its folder); called
   * holding the lock.
   */
  private final BiFunction<Revision, Integer, LaunchSpec> newSpec;

  private final ExecutorService worker;

  /**
   * Ready launches by machine, every id reserved here (ready or in the making), machines in the
   * making.
   */
  private final Map<String, Ready> ready = new HashMap<>();

  private final Set<String> reservedIds = new HashSet<>();
  private final Set<String> inTheMaking = new HashSet<>();
  private boolean closed;

  private record Ready(LaunchSpec spec, PreparesAhead backend) {}

  PreparedLaunches(
      Map<MachineType, PreparesAhead> preparers,
      Object lock,
      TftpPortPool ports,
      BiFunction<Revision, Integer, LaunchSpec> newSpec) {
    this.preparers = Map.copyOf(preparers);
    this.lock = lock;
    this.ports = ports;
    this.newSpec = newSpec;
    this.worker = Executors.newSingleThreadExecutor(Threads.daemonFactory("instance-prepare"));
  }

  /** Whether the id is reserved for a prepared launch (a new instance must not get it). */
  boolean reserves(String id) {
    synchronized (lock) {
      return reservedIds.contains(id);
    }
  }

  /** The id of the launch of the machine that is ready, if any. */
  Optional<String> readyFor(String machine) {
    synchronized (lock) {
      return Optional.ofNullable(ready.get(machine)).map(launch -> launch.spec.instanceId());
    }
  }

  /**
   * The launch prepared for this revision, taken: its id and port now belong to the caller, who
   * gives the port back when the instance ends. A launch prepared for another revision of the
   * machine is discarded. Null when there is none.
   */
  LaunchSpec take(Revision revision) {
    Ready taken;
    synchronized (lock) {
      taken = ready.remove(revision.machine());
      if (taken == null) {
        return null;
      }
      if (taken.spec.revision().equals(revision)) {
        reservedIds.remove(taken.spec.instanceId());
        return taken.spec;
      }
    }
    LOG.info(
        "machine {}: the launch prepared for revision {} is discarded: {} is in service now",
        revision.machine(),
        taken.spec.revision().version(),
        revision.version());
    runOnWorker(() -> undo(taken.spec, taken.backend));
    return null;
  }

  /**
   * A launch that took its prepared guest failed: what was prepared for the instance is removed (a
   * backend that prepares nothing has nothing to remove).
   */
  void discardTaken(Revision revision, String instanceId) {
    PreparesAhead backend = preparers.get(revision.manifest().type());
    if (backend != null) {
      backend.discardPrepared(instanceId);
    }
  }

  /** Prepares the next launch of the revision's machine in the background, unless one exists. */
  void prepareSoon(Revision revision) {
    PreparesAhead backend = preparers.get(revision.manifest().type());
    if (backend == null) {
      return;
    }
    synchronized (lock) {
      if (closed || ready.containsKey(revision.machine()) || !inTheMaking.add(revision.machine())) {
        return;
      }
    }
    if (!runOnWorker(() -> prepare(revision, backend))) {
      synchronized (lock) {
        inTheMaking.remove(revision.machine());
      }
    }
  }

  private void prepare(Revision revision, PreparesAhead backend) {
    int port = ports.hold();
    LaunchSpec spec = null;
    try {
      if (port < 0) {
        LOG.debug(
            "machine {}: no free TFTP port to prepare its next launch with", revision.machine());
        return;
      }
      synchronized (lock) {
        spec = newSpec.apply(revision, port);
        reservedIds.add(spec.instanceId());
      }
      backend.prepare(spec);
      synchronized (lock) {
        if (!closed && !ready.containsKey(revision.machine())) {
          ready.put(revision.machine(), new Ready(spec, backend));
          LOG.debug(
              "machine {}: next launch prepared as {}", revision.machine(), spec.instanceId());
          return;
        }
      }
      undo(spec, backend);
    } catch (BackendException | RuntimeException e) {
      // The next start takes the usual path and reports the problem, if it lasts.
      LOG.warn(
          "machine {}: cannot prepare its next launch: {}", revision.machine(), e.getMessage());
      if (spec != null) {
        undo(spec, backend);
      } else {
        ports.release(port);
      }
    } finally {
      synchronized (lock) {
        inTheMaking.remove(revision.machine());
      }
    }
  }

  /**
   * Discards, at once, the ready launches whose revision is no longer the one in service (another
   * is, or the machine is gone): each holds a TFTP port, and a container its image.
   */
  void discardOutOfService(InstanceManager.RevisionSource revisions) {
    List<Ready> candidates;
    synchronized (lock) {
      candidates = new ArrayList<>(ready.values());
    }
    for (Ready launch : candidates) {
      Revision prepared = launch.spec.revision();
      if (prepared.equals(inServiceOrNull(revisions, prepared.machine()))) {
        continue;
      }
      synchronized (lock) {
        if (!ready.remove(prepared.machine(), launch)) {
          continue; // taken or discarded meanwhile
        }
      }
      LOG.info(
          "machine {}: the launch prepared for revision {} is discarded: that revision is no longer"
              + " in service",
          prepared.machine(),
          prepared.version());
      undo(launch.spec, launch.backend);
    }
  }

  private static Revision inServiceOrNull(
      InstanceManager.RevisionSource revisions, String machine) {
    try {
      return revisions.inService(machine);
    } catch (ManagerException e) {
      return null;
    }
  }

  /**
   * Discards every ready launch, giving their ports back, and returns whether there was any: a
   * start that finds no free TFTP port tries again after this.
   */
  boolean discardAll() {
    List<Ready> discarded;
    synchronized (lock) {
      discarded = new ArrayList<>(ready.values());
      ready.clear();
    }
    discarded.forEach(launch -> undo(launch.spec, launch.backend));
    return !discarded.isEmpty();
  }

  private void undo(LaunchSpec spec, PreparesAhead backend) {
    try {
      backend.discardPrepared(spec.instanceId());
    } finally {
      ports.release(spec.tftpPort());
      synchronized (lock) {
        reservedIds.remove(spec.instanceId());
      }
    }
  }

  private boolean runOnWorker(Runnable task) {
    try {
      worker.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  /**
   * Waits for the launch being prepared, then discards every launch (call before the backends
   * close).
   */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
    }
    worker.shutdown();
    try {
      worker.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    discardAll();
  }
}
