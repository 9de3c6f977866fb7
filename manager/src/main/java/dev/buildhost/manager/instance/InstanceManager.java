package dev.buildhost.manager.instance;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.PreparesAhead;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.event.EventBus;
import dev.buildhost.manager.journal.Journal;
import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import dev.buildhost.manager.tftp.TftpPortPool;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Java API of the machine manager, the one the HTTP API is a thin layer over. Every method
 * throws {@link ManagerException} for requests it refuses (unknown id, bad name, no capacity).
 *
 * <p>One lifecycle for every backend: capacity, ids, the TFTP port and folder, the timeout, the
 * poweroff grace, events, the journal and the clean-up are here; a backend only launches, stops and
 * removes its guests and reports their life through a {@link GuestListener}. Backend callbacks and
 * slow backend calls run on the manager's own threads, never on the caller's or the backend's event
 * thread; each instance's state changes are serialised by the instance's lock.
 */
public final class InstanceManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceManager.class);

  /**
   * The longest timeout a start may ask for: longer ones are surely mistakes, and overflow the
   * timers.
   */
  public static final Duration MAX_TIMEOUT = Duration.ofDays(7);

  /** Where start() finds the revision in service of a machine (the machine library). */
  @FunctionalInterface
  public interface RevisionSource {
    /** The revision in service; ManagerException NOT_FOUND / BAD_REQUEST when there is none. */
    Revision inService(String machine);
  }

  private final ManagerConfig config;
  private final RevisionSource revisions;
  private final Map<MachineType, InstanceBackend> backends = new EnumMap<>(MachineType.class);
  private final Journal journal;
  private final EventBus bus = new EventBus();
  private final InstanceTftpServers tftp;
  private final InstanceRegistry registry;
  private final PreparedLaunches prepared;
  private final Scheduler timers;
  private final ExecutorService executor;
  private final InstanceLifecycle lifecycle;
  private final InstanceLauncher launcher;
  private final DrainFlag drain;
  private final UnknownInstances unknown;
  private final RevisionPublisher publisher;
  private volatile boolean closed;

  private InstanceManager(
      ManagerConfig config,
      RevisionSource revisions,
      List<InstanceBackend> backendList,
      Clock clock,
      Scheduler timers,
      InetAddress tftpAddress) {
    this.config = config;
    this.revisions = revisions;
    Map<MachineType, PreparesAhead> preparers = new EnumMap<>(MachineType.class);
    for (InstanceBackend backend : backendList) {
      if (backends.putIfAbsent(backend.type(), backend) != null) {
        throw new IllegalArgumentException("two backends for machine type " + backend.type());
      }
      if (backend instanceof PreparesAhead preparer) {
        preparers.put(backend.type(), preparer);
      }
    }
    this.journal = new Journal(config.stateDir(), clock);
    this.drain = new DrainFlag(config.stateDir());
    this.tftp =
        new InstanceTftpServers(
            new TftpPortPool(config.tftpPortFirst(), config.tftpPortLast()),
            config.tftpUploadLimits(),
            tftpAddress,
            config.tftpDir());
    this.registry = new InstanceRegistry(config, clock);
    this.prepared =
        new PreparedLaunches(preparers, registry.lock(), tftp.pool(), registry::newSpec);
    registry.preparedLaunches(prepared);
    this.timers = timers;
    this.executor = Executors.newCachedThreadPool(Threads.daemonFactory("instance-lifecycle"));
    this.lifecycle =
        new InstanceLifecycle(config.poweroffGrace(), journal, bus, tftp, clock, timers, executor);
    this.launcher = new InstanceLauncher(registry, tftp, prepared, lifecycle);
    this.unknown = new UnknownInstances(config, backends, journal, registry, tftp, lifecycle);
    this.publisher = new RevisionPublisher(config.machinesDir());
  }

  /**
   * Opens the manager on the machine library; see {@link #open(ManagerConfig, RevisionSource,
   * List)}.
   */
  public static InstanceManager open(
      ManagerConfig config, MachineLibrary library, List<InstanceBackend> backends) {
    return open(config, library::inService, backends);
  }

  /**
   * Opens the manager over the journal under {@code config.stateDir()} and reconciles it with the
   * guests the backends report: live guests of unfinished instances are adopted, records whose
   * guest is gone end as CRASHED, records that cannot be read make UNKNOWN instances whose guest,
   * folders and port are kept, guests and folders that no record claims are removed. The manager
   * owns the backends from here on and closes them in {@link #close()}.
   */
  public static InstanceManager open(
      ManagerConfig config, RevisionSource revisions, List<InstanceBackend> backends) {
    return open(
        config, revisions, backends, Clock.systemUTC(), Scheduler.onThread("instance-timer"));
  }

  /**
   * Like {@link #open(ManagerConfig, RevisionSource, List)}, on the given clock and timers (tests
   * drive both).
   */
  public static InstanceManager open(
      ManagerConfig config,
      RevisionSource revisions,
      List<InstanceBackend> backends,
      Clock clock,
      Scheduler timers) {
    return open(config, revisions, backends, clock, timers, InetAddress.getLoopbackAddress());
  }

  /**
   * Like {@link #open(ManagerConfig, RevisionSource, List)}, with the instances' TFTP servers on
   * {@code tftpAddress} (the guest bridge's host address in network mode bridge, where the firewall
   * sends each guest's TFTP).
   */
  public static InstanceManager open(
      ManagerConfig config,
      RevisionSource revisions,
      List<InstanceBackend> backends,
      InetAddress tftpAddress) {
    return open(
        config,
        revisions,
        backends,
        Clock.systemUTC(),
        Scheduler.onThread("instance-timer"),
        tftpAddress);
  }

  private static InstanceManager open(
      ManagerConfig config,
      RevisionSource revisions,
      List<InstanceBackend> backends,
      Clock clock,
      Scheduler timers,
      InetAddress tftpAddress) {
    InstanceManager manager =
        new InstanceManager(config, revisions, backends, clock, timers, tftpAddress);
    try {
      Files.createDirectories(config.tftpDir());
      Files.createDirectories(config.instancesDir());
      new Reconciliation(
              config,
              manager.backends,
              manager.journal,
              manager.registry,
              manager.tftp,
              manager.lifecycle,
              manager.unknown)
          .run();
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot open the instance manager on " + config.root() + ": " + e.getMessage(),
          e);
    }
    return manager;
  }

  // ---------------------------------------------------------------------------------------------
  // The API

  /**
   * Starts an instance; returns once it is launched (state RUNNING or STARTING; STOPPING or STOPPED
   * when a stop request came during the launch).
   */
  public Instance start(StartRequest request) {
    return start(request, StartOptions.NONE);
  }

  /**
   * Starts an instance with {@code options}: a fixed revision, a bootstrapped state to start from,
   * an end hook.
   */
  public Instance start(StartRequest request, StartOptions options) {
    checkOpen();
    if (request == null || request.machine() == null || request.machine().isBlank()) {
      throw new ManagerException(ManagerException.Kind.BAD_REQUEST, "name the machine to start");
    }
    if (drain.draining()) {
      throw new ManagerException(
          ManagerException.Kind.NO_CAPACITY,
          "this host is draining for maintenance and starts no new instances; use another host or retry later");
    }
    Duration timeout = request.timeout() == null ? config.defaultTimeout() : request.timeout();
    if (timeout.isNegative() || timeout.isZero()) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST, "the timeout must be positive, not " + timeout);
    }
    if (timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST,
          "the timeout must be at most "
              + MAX_TIMEOUT.toDays()
              + " days ("
              + MAX_TIMEOUT.toSeconds()
              + " s), not "
              + timeout.toSeconds()
              + " s");
    }
    request.files().keySet().forEach(InstanceFiles::checkName);
    Revision revision =
        options.revision() != null ? options.revision() : revisions.inService(request.machine());
    InstanceBackend backend = backends.get(revision.manifest().type());
    if (backend == null) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "machine "
              + request.machine()
              + " is of type "
              + revision.manifest().type().manifestValue()
              + ", and this daemon runs no backend for that type");
    }
    if (request.keep() && options.endHook() != null) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST,
          "a bootstrap keeps its disk as a bootstrapped state: 'keep' is for plain starts");
    }
    TrackedInstance tracked = registry.reserve(revision, timeout);
    synchronized (tracked) {
      tracked.options =
          request.keep()
              ? new StartOptions(options.revision(), options.layer(), new KeepHook(tracked))
              : options;
      tracked.startedFrom = options.layer() == null ? null : options.layer().stateId();
      tracked.keep = request.keep();
    }
    return launcher.launch(tracked, backend, request);
  }

  public Instance get(String id) {
    return registry.find(id).snapshot();
  }

  public List<Instance> list() {
    return registry.snapshots();
  }

  /**
   * The id of the bootstrapped state the instance started from; null for the bare revision. Kept in
   * the journal, so an instance adopted from an earlier daemon shows it too.
   */
  public String startedFrom(String id) {
    return registry.find(id).startedFrom;
  }

  /** Where the instance's disk started from, and where it is kept once it stopped. */
  public InstanceDisk disk(String id) {
    TrackedInstance tracked = registry.find(id);
    synchronized (tracked) {
      return new InstanceDisk(tracked.startedFrom, tracked.keep, tracked.kept);
    }
  }

  /**
   * The id of the bootstrapped state each instance that uses one runs on, by instance id: instances
   * not yet stopped, and stopped ones whose kept disk still chains to it.
   */
  public Map<String, String> startedFrom() {
    Map<String, String> states = new TreeMap<>();
    for (TrackedInstance tracked : registry.all()) {
      String state = tracked.startedFrom;
      if (state != null && (tracked.state() != InstanceState.STOPPED || tracked.kept != null)) {
        states.put(tracked.id(), state);
      }
    }
    return states;
  }

  /**
   * Removes what the revisions deleted from the machines folder left behind ({@code left}: the
   * revision folders that still exist): the launches prepared for a revision no longer in service,
   * then each backend's leftovers. Returns what the backends removed (a container machine's image
   * tag).
   *
   * @throws ManagerException BACKEND_FAILED when a backend cannot (dockerd does not answer); the
   *     message names what was removed before
   */
  public List<String> removeLeftoversExcept(Set<RevisionName> left) {
    prepared.discardOutOfService(revisions);
    List<String> removed = new ArrayList<>();
    for (InstanceBackend backend : backends.values()) {
      try {
        removed.addAll(backend.removeLeftoversExcept(left));
      } catch (BackendException | RuntimeException e) {
        throw new ManagerException(
            ManagerException.Kind.BACKEND_FAILED,
            "cannot remove the leftovers of deleted "
                + backend.type()
                + " revisions"
                + (removed.isEmpty() ? "" : " (removed before: " + String.join(", ", removed) + ")")
                + ": "
                + e.getMessage(),
            e);
      }
    }
    return removed;
  }

  /** The ids of the images that kept container disks were committed to (until deleted). */
  public Set<String> keptImages() {
    Set<String> images = new TreeSet<>();
    for (TrackedInstance tracked : registry.all()) {
      KeptDisk kept = tracked.kept;
      if (kept != null && kept.image() != null) {
        images.add(kept.image());
      }
    }
    return images;
  }

  /**
   * Publishes the kept disk of a stopped instance as the new revision {@code target} of a machine
   * (see {@link RevisionPublisher}); with {@code service}, the revision goes into service.
   */
  public PublishedRevision publish(String id, String target, boolean service) {
    checkOpen();
    TrackedInstance tracked = registry.find(id);
    synchronized (tracked) {
      return publisher.publish(tracked, target, service);
    }
  }

  /** ACPI shutdown / SIGTERM, then kill after the grace period. Returns at once. */
  public Instance poweroff(String id) {
    checkOpen();
    TrackedInstance tracked = registry.find(id);
    synchronized (tracked) {
      if (tracked.state() == InstanceState.UNKNOWN) {
        throw new ManagerException(
            ManagerException.Kind.CONFLICT,
            "instance "
                + id
                + " is UNKNOWN (its journal record cannot be read), so it cannot be powered off"
                + " cleanly: terminate ends its guest, delete removes it");
      }
      if (tracked.state() == InstanceState.STOPPED || tracked.state() == InstanceState.STOPPING) {
        return tracked.snapshot();
      }
      lifecycle.requestShutdown(tracked);
      return tracked.snapshot();
    }
  }

  /**
   * Destroy / SIGKILL. Returns at once; for an UNKNOWN instance, once the guest with its id is
   * ended.
   */
  public Instance terminate(String id) {
    checkOpen();
    TrackedInstance tracked = registry.find(id);
    synchronized (tracked) {
      if (tracked.state() == InstanceState.UNKNOWN) {
        return unknown.terminate(tracked);
      }
      lifecycle.kill(tracked, EndReason.TERMINATED);
      return tracked.snapshot();
    }
  }

  /**
   * Removes a stopped instance's folder and console log. CONFLICT while it runs. An UNKNOWN
   * instance is removed with its guest, if one runs, and its damaged record.
   */
  public void delete(String id) {
    checkOpen();
    TrackedInstance tracked = registry.find(id);
    synchronized (tracked) {
      if (tracked.state() == InstanceState.UNKNOWN) {
        unknown.delete(tracked);
        return;
      }
      if (tracked.state() != InstanceState.STOPPED) {
        throw new ManagerException(
            ManagerException.Kind.CONFLICT,
            "instance "
                + id
                + " is "
                + tracked.state()
                + ": poweroff or terminate it first, then delete it");
      }
      KeepHook.discard(tracked);
      InstanceFiles.deleteFolders(tracked);
      journal.delete(id);
      lifecycle.forget(id);
      tracked.deleted = true;
      registry.remove(id);
      LOG.info("instance {}: deleted", id);
      lifecycle.publish(InstanceEvent.Kind.DELETED, tracked.snapshot(), null);
    }
  }

  /** Writes a file into the instance folder atomically (temporary file, then rename). */
  public void putFile(String id, String name, InputStream content) {
    checkOpen();
    InstanceFiles.putFile(id, registry.find(id).tftpDir, name, content);
  }

  public InputStream openFile(String id, String name) {
    return InstanceFiles.openFile(id, registry.find(id).tftpDir, name);
  }

  public List<FileEntry> listFiles(String id) {
    return InstanceFiles.listFiles(id, registry.find(id).tftpDir);
  }

  /** The console log of the instance (VM serial console or container output). */
  public InputStream openConsoleLog(String id) {
    return InstanceFiles.openConsoleLog(id, registry.find(id).instanceDir);
  }

  /**
   * The id the next start of the machine takes, when a launch of it is prepared ahead and ready;
   * empty while none is or while one is still in the making.
   */
  public Optional<String> preparedLaunch(String machine) {
    return prepared.readyFor(machine);
  }

  /** Subscribes to lifecycle events; closing the returned handle unsubscribes. */
  public AutoCloseable subscribe(Consumer<InstanceEvent> listener) {
    return bus.subscribe(listener);
  }

  /**
   * While draining, start() refuses with NO_CAPACITY; running instances go on. The drain is kept in
   * the state folder: a restarted daemon goes on draining until the host reboots.
   */
  public void setDraining(boolean draining) {
    if (drain.draining() != draining) {
      LOG.info(
          draining
              ? "draining: new instances are refused"
              : "draining ended: new instances are accepted");
    }
    try {
      drain.set(draining);
    } catch (UncheckedIOException e) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED, e.getMessage(), e);
    }
  }

  public boolean isDraining() {
    return drain.draining();
  }

  /**
   * Whether the journal keeps up: records whose write is being retried, and the failed writes since
   * the manager opened.
   */
  public JournalHealth journalHealth() {
    return new JournalHealth(
        lifecycle.unwrittenRecords(),
        journal.failedWrites(),
        journal.lastError(),
        journal.lastErrorAt());
  }

  /** The instance folder {@code <root>/tftp/<id>/} (what its TFTP server serves). */
  public Path tftpFolder(String id) {
    return registry.find(id).tftpDir;
  }

  /**
   * Stops serving: the TFTP servers close and the timers stop, but guests go on running; the
   * journal keeps them, and the next {@link #open} adopts them. Closes the backends.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    lifecycle.close();
    timers.close();
    for (TrackedInstance tracked : registry.all()) {
      synchronized (tracked) {
        if (tracked.server != null) {
          tftp.stop(tracked.server, tracked.server.port());
          tracked.server = null;
        }
      }
    }
    tftp.close();
    executor.shutdown();
    try {
      executor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    prepared.close();
    for (InstanceBackend backend : backends.values()) {
      try {
        backend.close();
      } catch (RuntimeException e) {
        LOG.warn("closing the {} backend failed: {}", backend.type(), e.getMessage());
      }
    }
    bus.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private void checkOpen() {
    if (closed) {
      throw new ManagerException(
          ManagerException.Kind.CONFLICT,
          "the instance manager is closed (the daemon is shutting down); retry once it is back");
    }
  }

  static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
