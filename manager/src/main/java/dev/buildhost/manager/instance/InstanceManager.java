package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.event.EventBus;
import dev.buildhost.manager.journal.Journal;
import dev.buildhost.manager.journal.JournalEntry;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import dev.buildhost.manager.tftp.NoFreePortException;
import dev.buildhost.manager.tftp.TftpPortPool;
import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferEvent;
import dev.buildhost.tftp.server.TransferListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Java API of the machine manager, the one the HTTP API is a thin layer over. Every method
 * throws {@link ManagerException} for requests it refuses (unknown id, bad name, no capacity).
 *
 * <p>One lifecycle for every backend: capacity, ids, the TFTP port and folder, the timeout, the
 * poweroff grace, events, the journal and the clean-up are here; a backend only launches, stops
 * and removes its guests and reports their life through a {@link GuestListener}. Backend callbacks
 * and slow backend calls run on the manager's own threads, never on the caller's or the backend's
 * event thread; each instance's state changes are serialised by the instance's lock.
 */
public final class InstanceManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceManager.class);
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
  private static final Pattern ID_CHARS = Pattern.compile("[^A-Za-z0-9_.-]");
  /** Instance folder names as {@link #newId} makes them; reconciliation touches no other folder. */
  private static final Pattern ID_SHAPE = Pattern.compile("[A-Za-z0-9_.-]+-\\d{8}-\\d{6}-[0-9a-f]{4}");
  /** After a kill, how long to wait for the backend to report the end before releasing anyway. */
  static final Duration KILL_WATCHDOG = Duration.ofSeconds(30);

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
  private final PreparedLaunches prepared;
  private final ScheduledExecutorService timers;
  private final ExecutorService lifecycle;
  private final Map<String, Tracked> instances = new ConcurrentHashMap<>();
  private final Object capacityLock = new Object();
  private final SecureRandom random = new SecureRandom();
  private final Clock clock = Clock.systemUTC();
  private volatile boolean draining;
  private volatile boolean closed;

  private InstanceManager(ManagerConfig config, RevisionSource revisions, List<InstanceBackend> backendList) {
    this.config = config;
    this.revisions = revisions;
    for (InstanceBackend backend : backendList) {
      if (backends.putIfAbsent(backend.type(), backend) != null) {
        throw new IllegalArgumentException("two backends for machine type " + backend.type());
      }
    }
    this.journal = new Journal(config.stateDir());
    this.tftp = new InstanceTftpServers(new TftpPortPool(config.tftpPortFirst(), config.tftpPortLast()));
    this.prepared = new PreparedLaunches(capacityLock, tftp.pool(), (revision, port) -> {
      String id = newId(revision.machine());
      return new LaunchSpec(id, revision, config.instancesDir().resolve(id), port);
    });
    this.timers = Executors.newSingleThreadScheduledExecutor(daemonThreads("instance-timer"));
    this.lifecycle = Executors.newCachedThreadPool(daemonThreads("instance-lifecycle"));
  }

  /** Opens the manager on the machine library; see {@link #open(ManagerConfig, RevisionSource, List)}. */
  public static InstanceManager open(ManagerConfig config, MachineLibrary library, List<InstanceBackend> backends) {
    return open(config, library::inService, backends);
  }

  /**
   * Opens the manager over the journal under {@code config.stateDir()} and reconciles it with the
   * guests the backends report: live guests of unfinished instances are adopted, records whose
   * guest is gone end as CRASHED, guests and folders that no record claims are removed. The
   * manager owns the backends from here on and closes them in {@link #close()}.
   */
  public static InstanceManager open(ManagerConfig config, RevisionSource revisions, List<InstanceBackend> backends) {
    InstanceManager manager = new InstanceManager(config, revisions, backends);
    try {
      Files.createDirectories(config.tftpDir());
      Files.createDirectories(config.instancesDir());
      manager.reconcile();
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
          "cannot open the instance manager on " + config.root() + ": " + e.getMessage(), e);
    }
    return manager;
  }

  // ---------------------------------------------------------------------------------------------
  // The API

  /** Starts an instance; returns once it is launched (state RUNNING or STARTING). */
  public Instance start(StartRequest request) {
    checkOpen();
    if (request == null || request.machine() == null || request.machine().isBlank()) {
      throw new ManagerException(ManagerException.Kind.BAD_REQUEST, "name the machine to start");
    }
    if (draining) {
      throw new ManagerException(ManagerException.Kind.NO_CAPACITY,
          "this host is draining for maintenance and starts no new instances; use another host or retry later");
    }
    Duration timeout = request.timeout() == null ? config.defaultTimeout() : request.timeout();
    if (timeout.isNegative() || timeout.isZero()) {
      throw new ManagerException(ManagerException.Kind.BAD_REQUEST, "the timeout must be positive, not " + timeout);
    }
    request.files().keySet().forEach(InstanceFiles::checkName);
    Revision revision = revisions.inService(request.machine());
    InstanceBackend backend = backends.get(revision.manifest().type());
    if (backend == null) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED, "machine " + request.machine()
          + " is of type " + revision.manifest().type().manifestValue()
          + ", and this daemon runs no backend for that type");
    }
    Tracked tracked = reserve(revision, timeout);
    synchronized (tracked) {
      return launch(tracked, backend, request);
    }
  }

  public Instance get(String id) {
    return find(id).snapshot();
  }

  public List<Instance> list() {
    List<Instance> result = new ArrayList<>();
    for (Tracked tracked : instances.values()) {
      result.add(tracked.snapshot());
    }
    result.sort(Comparator.comparing(Instance::createdAt).thenComparing(Instance::id));
    return result;
  }

  /** ACPI shutdown / SIGTERM, then kill after the grace period. Returns at once. */
  public Instance poweroff(String id) {
    checkOpen();
    Tracked tracked = find(id);
    synchronized (tracked) {
      if (tracked.state() == InstanceState.STOPPED || tracked.state() == InstanceState.STOPPING) {
        return tracked.snapshot();
      }
      requestShutdown(tracked);
      return tracked.snapshot();
    }
  }

  /** Destroy / SIGKILL. Returns at once. */
  public Instance terminate(String id) {
    checkOpen();
    Tracked tracked = find(id);
    synchronized (tracked) {
      kill(tracked, EndReason.TERMINATED);
      return tracked.snapshot();
    }
  }

  /** Removes a stopped instance's folder and console log. CONFLICT while it runs. */
  public void delete(String id) {
    checkOpen();
    Tracked tracked = find(id);
    synchronized (tracked) {
      if (tracked.state() != InstanceState.STOPPED) {
        throw new ManagerException(ManagerException.Kind.CONFLICT, "instance " + id + " is "
            + tracked.state() + ": poweroff or terminate it first, then delete it");
      }
      try {
        deleteTree(tracked.tftpDir);
        deleteTree(tracked.instanceDir);
      } catch (IOException e) {
        throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
            "cannot delete the folders of instance " + id + ": " + e.getMessage(), e);
      }
      journal.delete(id);
      instances.remove(id);
      LOG.info("instance {}: deleted", id);
      publish(InstanceEvent.Kind.DELETED, tracked.snapshot(), null);
    }
  }

  /** Writes a file into the instance folder atomically (temporary file, then rename). */
  public void putFile(String id, String name, InputStream content) {
    checkOpen();
    Tracked tracked = find(id);
    InstanceFiles.checkName(name);
    try {
      InstanceFiles.put(tracked.tftpDir, name, content);
    } catch (IOException e) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
          "cannot write " + name + " into the folder of instance " + id + ": " + e.getMessage(), e);
    }
  }

  public InputStream openFile(String id, String name) {
    Tracked tracked = find(id);
    try {
      return InstanceFiles.open(tracked.tftpDir, name);
    } catch (IOException e) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
          "cannot read " + name + " of instance " + id + ": " + e.getMessage(), e);
    }
  }

  public List<FileEntry> listFiles(String id) {
    Tracked tracked = find(id);
    try {
      return InstanceFiles.list(tracked.tftpDir);
    } catch (IOException e) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
          "cannot list the folder of instance " + id + ": " + e.getMessage(), e);
    }
  }

  /** The console log of the instance (VM serial console or container output). */
  public InputStream openConsoleLog(String id) {
    Tracked tracked = find(id);
    Path log = tracked.instanceDir.resolve("console.log");
    try {
      return Files.newInputStream(log, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new ManagerException(ManagerException.Kind.NOT_FOUND,
          "instance " + id + " has no console log yet; its guest has not written any output");
    } catch (IOException e) {
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED,
          "cannot read the console log of instance " + id + ": " + e.getMessage(), e);
    }
  }

  /** Subscribes to lifecycle events; closing the returned handle unsubscribes. */
  public AutoCloseable subscribe(Consumer<InstanceEvent> listener) {
    return bus.subscribe(listener);
  }

  /** While draining, start() refuses with NO_CAPACITY; running instances go on. */
  public void setDraining(boolean draining) {
    if (this.draining != draining) {
      LOG.info(draining ? "draining: new instances are refused" : "draining ended: new instances are accepted");
    }
    this.draining = draining;
  }

  public boolean isDraining() {
    return draining;
  }

  /** The instance folder {@code <root>/tftp/<id>/} (what its TFTP server serves). */
  public Path tftpFolder(String id) {
    return find(id).tftpDir;
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
    timers.shutdownNow();
    for (Tracked tracked : instances.values()) {
      synchronized (tracked) {
        if (tracked.server != null) {
          tftp.stop(tracked.server, tracked.server.port());
          tracked.server = null;
        }
      }
    }
    lifecycle.shutdown();
    try {
      lifecycle.awaitTermination(10, TimeUnit.SECONDS);
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
  // Starting

  /** Takes a capacity slot and an id, or refuses with NO_CAPACITY. */
  private Tracked reserve(Revision revision, Duration timeout) {
    long ram = LaunchSpec.ramMib(revision);
    synchronized (capacityLock) {
      int running = 0;
      long ramInUse = 0;
      for (Tracked tracked : instances.values()) {
        if (tracked.state() != InstanceState.STOPPED) {
          running++;
          ramInUse += LaunchSpec.ramMib(tracked.revision);
        }
      }
      if (running >= config.maxInstances()) {
        throw new ManagerException(ManagerException.Kind.NO_CAPACITY, "all " + config.maxInstances()
            + " instance slots are in use (max-instances); wait for an instance to end, or raise max-instances");
      }
      if (ramInUse + ram > config.ramBudgetMib()) {
        throw new ManagerException(ManagerException.Kind.NO_CAPACITY, "machine " + revision.machine()
            + " needs " + ram + " MiB of RAM but only " + (config.ramBudgetMib() - ramInUse) + " of the "
            + config.ramBudgetMib() + " MiB budget are free (ram-budget); wait for an instance to end, or raise ram-budget");
      }
      LaunchSpec ahead = prepared.take(revision);
      String id = ahead != null ? ahead.instanceId() : newId(revision.machine());
      Instant now = clock.instant();
      Instance snapshot = Instance.starting(id, revision.machine(), revision.version(), revision.manifest().type(), now);
      Tracked tracked = new Tracked(new Lifecycle.State(snapshot, null), revision, config.tftpDir().resolve(id),
          config.instancesDir().resolve(id), now.plus(timeout));
      tracked.preparedPort = ahead != null ? ahead.tftpPort() : 0;
      instances.put(id, tracked);
      return tracked;
    }
  }

  private Instance launch(Tracked tracked, InstanceBackend backend, StartRequest request) {
    String id = tracked.id();
    try {
      Files.createDirectories(tracked.tftpDir);
      Files.createDirectories(tracked.instanceDir);
      for (Map.Entry<String, byte[]> file : request.files().entrySet()) {
        InstanceFiles.put(tracked.tftpDir, file.getKey(), file.getValue());
      }
      tracked.server = startTftp(tracked);
      Lifecycle.Step launching = Lifecycle.apply(tracked.life, new Lifecycle.Report.Launching(tracked.server.port()),
          clock.instant());
      change(tracked, launching.next());
      LOG.info("instance {}: starting {} {} (TFTP port {}, timeout at {}{})", id, tracked.revision.machine(),
          tracked.revision.version(), tracked.snapshot().tftpPort(), tracked.deadline,
          tracked.preparedPort > 0 ? ", prepared ahead" : "");
      publish(tracked, launching);
      tracked.guest = backend.launch(spec(tracked), guestListener(tracked));
      armTimeout(tracked);
      prepared.prepareSoon(tracked.revision, backend);
      return tracked.snapshot();
    } catch (NoFreePortException e) {
      backend.discardPrepared(id);
      discard(tracked);
      throw new ManagerException(ManagerException.Kind.NO_CAPACITY, e.getMessage(), e);
    } catch (BackendException | IOException | RuntimeException e) {
      backend.discardPrepared(id);
      String message = "cannot start machine " + tracked.revision.machine() + ": " + describe(e);
      failStart(tracked, message);
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED, message, e);
    }
  }

  /**
   * The instance's TFTP server: on the port of its prepared launch, else on a free port. When no
   * port is free, the ports of the launches prepared for other machines are taken back first.
   */
  private TftpServer startTftp(Tracked tracked) throws IOException {
    if (tracked.preparedPort > 0) {
      try {
        return tftp.startOn(tracked.tftpDir, tracked.preparedPort, uploads(tracked));
      } catch (IOException e) {
        // Another program took the port meanwhile. The spec the backend gets then differs from
        // the prepared one, so it creates the guest afresh.
        LOG.info("instance {}: its prepared TFTP port {} is taken ({}); using another", tracked.id(),
            tracked.preparedPort, e.getMessage());
        tftp.pool().release(tracked.preparedPort);
        tracked.preparedPort = 0;
      }
    }
    try {
      return tftp.start(tracked.tftpDir, uploads(tracked));
    } catch (NoFreePortException e) {
      if (!prepared.discardAll()) {
        throw e;
      }
      return tftp.start(tracked.tftpDir, uploads(tracked));
    }
  }

  /** Undoes a start refused for lack of capacity before anything ran: like other refusals, it leaves nothing. */
  private void discard(Tracked tracked) {
    instances.remove(tracked.id());
    try {
      deleteTree(tracked.tftpDir);
      deleteTree(tracked.instanceDir);
    } catch (IOException e) {
      LOG.warn("instance {}: cannot remove the folders of a refused start: {}", tracked.id(), e.getMessage());
    }
  }

  private void failStart(Tracked tracked, String message) {
    LOG.error("instance {}: failed to start: {}", tracked.id(), message);
    releaseTftp(tracked);
    Lifecycle.Step failed = Lifecycle.apply(tracked.life, new Lifecycle.Report.LaunchFailed(message), clock.instant());
    try {
      change(tracked, failed.next());
    } catch (RuntimeException e) {
      tracked.life = failed.next();
      LOG.error("instance {}: cannot journal its failed start: {}", tracked.id(), e.getMessage());
    }
    publish(tracked, failed);
  }

  /**
   * Stops the instance's TFTP server and frees its port; caller holds the lock of an instance that
   * is ending. The port is freed even without a server (an adopted instance whose server could not
   * be restarted keeps its port held until it ends; a start that failed before its server started
   * holds the port of its prepared launch).
   */
  private void releaseTftp(Tracked tracked) {
    int held = tracked.snapshot().tftpPort() > 0 ? tracked.snapshot().tftpPort() : tracked.preparedPort;
    if (tracked.server != null) {
      tftp.stop(tracked.server, tracked.server.port());
      tracked.server = null;
    } else if (held > 0) {
      tftp.pool().release(held);
    }
  }

  private LaunchSpec spec(Tracked tracked) {
    return new LaunchSpec(tracked.id(), tracked.revision, tracked.instanceDir, tracked.snapshot().tftpPort());
  }

  private TransferListener uploads(Tracked tracked) {
    return event -> {
      if (event.kind() == TransferEvent.Kind.COMPLETED && event.upload()) {
        LOG.info("instance {}: uploaded {} ({} bytes)", tracked.id(), event.fileName(), event.bytes());
        publish(InstanceEvent.Kind.FILE_UPLOADED, tracked.snapshot(), event.fileName());
      }
    };
  }

  private GuestListener guestListener(Tracked tracked) {
    return new GuestListener() {
      @Override
      public void onRunning() {
        if (Thread.holdsLock(tracked)) {
          // Reported during the launch, on its thread (libvirt's running, a container's confirmed
          // start): applied at once rather than a thread later. A report made before it can
          // only be waiting for this lock, and RUNNING goes first anyway.
          running(tracked);
        } else {
          runInReportOrder(tracked, () -> running(tracked));
        }
      }

      @Override
      public void onStopped(EndReason reason, Integer exitCode) {
        runInReportOrder(tracked, () -> stopped(tracked, reason, exitCode, null));
      }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // State changes (each under the instance's lock)

  private void running(Tracked tracked) {
    synchronized (tracked) {
      Lifecycle.Step step = Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestRunning(), clock.instant());
      if (!step.changed()) {
        return;
      }
      // Published before it is journaled: the agent waits for this event, and the record's fsync
      // costs milliseconds. Losing RUNNING in a crash costs nothing, as reconciliation turns a
      // STARTING record whose guest is alive into RUNNING (and ends it if the guest is gone).
      tracked.life = step.next();
      publish(tracked, step);
      LOG.info("instance {}: running", tracked.id());
      change(tracked, step.next());
    }
  }

  /** The guest is gone: release everything but the folders, and record why it ended. */
  private void stopped(Tracked tracked, EndReason reported, Integer exitCode, String message) {
    synchronized (tracked) {
      if (tracked.state() == InstanceState.STOPPED) {
        return;
      }
      cancelTimers(tracked);
      if (tracked.guest != null) {
        try {
          tracked.guest.release();
        } catch (RuntimeException e) {
          LOG.error("instance {}: releasing its guest failed: {}", tracked.id(), e.getMessage(), e);
          message = message == null ? "release failed: " + e.getMessage() : message;
        }
      }
      releaseTftp(tracked);
      Lifecycle.Step step = Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestEnded(reported, exitCode, message),
          clock.instant());
      change(tracked, step.next());
      LOG.info("instance {}: stopped ({}{})", tracked.id(), tracked.snapshot().endReason(),
          exitCode == null ? "" : ", exit code " + exitCode);
      publish(tracked, step);
    }
  }

  /** Caller holds the lock. ACPI shutdown now, kill when the grace period is over. */
  private void requestShutdown(Tracked tracked) {
    Lifecycle.Step step = Lifecycle.apply(tracked.life, new Lifecycle.Report.PoweroffRequested(), clock.instant());
    if (!step.changed()) {
      return;
    }
    toStopping(tracked, step);
    resumeShutdown(tracked);
  }

  /** Caller holds the lock of a STOPPING instance: asks its guest to stop, and arms the grace period. */
  private void resumeShutdown(Tracked tracked) {
    Guest guest = tracked.guest;
    if (guest != null) {
      runLater(guest::shutdown);
    }
    tracked.graceTask = schedule(config.poweroffGrace(), () -> {
      synchronized (tracked) {
        if (tracked.state() != InstanceState.STOPPED) {
          LOG.info("instance {}: still running after the {} poweroff grace; killing it", tracked.id(),
              config.poweroffGrace());
          kill(tracked, EndReason.TERMINATED);
        }
      }
    });
  }

  /** Caller holds the lock. Kills the guest; {@code reason} becomes the end reason unless one was set. */
  private void kill(Tracked tracked, EndReason reason) {
    if (tracked.state() == InstanceState.STOPPED) {
      return;
    }
    toStopping(tracked, Lifecycle.apply(tracked.life, new Lifecycle.Report.KillRequested(reason), clock.instant()));
    Guest guest = tracked.guest;
    if (guest != null) {
      runLater(guest::kill);
    }
    if (tracked.watchdogTask == null) {
      tracked.watchdogTask = schedule(KILL_WATCHDOG, () -> runLater(() -> stopped(tracked, EndReason.TERMINATED, null,
          "the backend did not report the end of the guest " + KILL_WATCHDOG.toSeconds()
              + " s after it was killed; released anyway")));
    }
  }

  /** Records a step towards STOPPING (a poweroff or kill request). */
  private void toStopping(Tracked tracked, Lifecycle.Step step) {
    if (!step.changed()) {
      return;
    }
    change(tracked, step.next());
    if (!step.events().isEmpty()) {
      EndReason requested = step.next().requestedReason();
      LOG.info("instance {}: stopping{}", tracked.id(), requested == null ? " (poweroff)" : " (" + requested + ")");
    }
    publish(tracked, step);
  }

  private void armTimeout(Tracked tracked) {
    Duration left = Duration.between(clock.instant(), tracked.deadline);
    tracked.timeoutTask = schedule(left.isNegative() ? Duration.ZERO : left, () -> {
      synchronized (tracked) {
        if (tracked.state() != InstanceState.STOPPED) {
          LOG.info("instance {}: timed out at {}; killing it", tracked.id(), tracked.deadline);
          kill(tracked, EndReason.TIMEOUT);
        }
      }
    });
  }

  private static void cancelTimers(Tracked tracked) {
    for (ScheduledFuture<?> task : new ScheduledFuture<?>[] {tracked.timeoutTask, tracked.graceTask, tracked.watchdogTask}) {
      if (task != null) {
        task.cancel(false);
      }
    }
  }

  /** Records the new snapshot: journal first, so what the API shows is what a restart finds. */
  private void change(Tracked tracked, Lifecycle.State next) {
    journal.write(new JournalEntry(next.instance(), tracked.revision, tracked.deadline, next.requestedReason()));
    tracked.life = next;
  }

  /** Publishes the events of a step; a STOPPED or FAILED event carries the instance's message. */
  private void publish(Tracked tracked, Lifecycle.Step step) {
    Instance instance = step.next().instance();
    for (InstanceEvent.Kind kind : step.events()) {
      boolean ended = kind == InstanceEvent.Kind.STOPPED || kind == InstanceEvent.Kind.FAILED;
      publish(kind, instance, ended ? instance.message() : null);
    }
  }

  private void publish(InstanceEvent.Kind kind, Instance instance, String detail) {
    bus.publish(new InstanceEvent(kind, clock.instant(), instance, detail));
  }

  private ScheduledFuture<?> schedule(Duration delay, Runnable task) {
    try {
      return timers.schedule(task, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  private void runLater(Runnable task) {
    try {
      lifecycle.execute(logFailures(task));
    } catch (RejectedExecutionException e) {
      LOG.debug("manager closed; dropped a lifecycle task");
    }
  }

  /**
   * Backend reports run off the backend's thread, but in the order the backend made them: a guest
   * that stops right after it starts must not have its RUNNING applied after its STOPPED.
   */
  private void runInReportOrder(Tracked tracked, Runnable report) {
    synchronized (tracked.reportOrder) {
      tracked.pendingReports = tracked.pendingReports
          .thenRunAsync(logFailures(report), lifecycle)
          .exceptionally(e -> {
            LOG.debug("manager closed; dropped a guest report");
            return null;
          });
    }
  }

  private static Runnable logFailures(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        LOG.error("instance lifecycle task failed", e);
      }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Reconciliation with what outlived the previous daemon

  private void reconcile() throws IOException {
    Map<MachineType, Set<String>> live = new EnumMap<>(MachineType.class);
    for (InstanceBackend backend : backends.values()) {
      try {
        live.put(backend.type(), new HashSet<>(backend.ourInstanceIds()));
      } catch (BackendException | RuntimeException e) {
        LOG.error("reconcile: cannot list the guests of the {} backend: {}", backend.type(), e.getMessage());
      }
    }
    for (JournalEntry entry : journal.readAll()) {
      Tracked tracked = new Tracked(new Lifecycle.State(entry.instance(), entry.requestedReason()), entry.revision(),
          config.tftpDir().resolve(entry.id()), config.instancesDir().resolve(entry.id()), entry.deadline());
      instances.put(tracked.id(), tracked);
      if (tracked.state() == InstanceState.STOPPED) {
        continue;
      }
      Set<String> ids = live.get(tracked.snapshot().type());
      synchronized (tracked) {
        if (ids == null) {
          endAtReconcile(tracked, "the " + tracked.snapshot().type().manifestValue()
              + " backend was unavailable when the daemon restarted; a guest left running is removed as an orphan at the next restart");
        } else if (ids.remove(tracked.id())) {
          adopt(tracked);
        } else {
          endAtReconcile(tracked, "its guest was gone when the daemon restarted");
        }
      }
    }
    for (Map.Entry<MachineType, Set<String>> orphans : live.entrySet()) {
      for (String id : orphans.getValue()) {
        try {
          backends.get(orphans.getKey()).removeOrphan(id);
          LOG.info("reconcile: removed orphan guest {} ({}): no journal record claims it", id, orphans.getKey());
        } catch (BackendException | RuntimeException e) {
          LOG.error("reconcile: cannot remove orphan guest {}: {}", id, e.getMessage());
        }
      }
    }
    removeLeftovers();
  }

  private void adopt(Tracked tracked) {
    String id = tracked.id();
    int port = tracked.snapshot().tftpPort();
    try {
      tracked.server = tftp.startOn(tracked.tftpDir, port, uploads(tracked));
    } catch (IOException | RuntimeException e) {
      // Keep the port held anyway: the guest knows only this one, no other instance may get it.
      tftp.pool().hold(port);
      LOG.error("reconcile: instance {} keeps running without its TFTP server: port {}: {}", id, port, e.getMessage());
    }
    try {
      tracked.guest = backends.get(tracked.snapshot().type()).adopt(spec(tracked), guestListener(tracked));
    } catch (BackendException | RuntimeException e) {
      endAtReconcile(tracked, "its guest could not be adopted: " + describe(e));
      return;
    }
    Instance s = tracked.snapshot();
    // A STARTING record whose guest runs: its RUNNING was lost with the previous daemon.
    change(tracked, Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestRunning(), clock.instant()).next());
    LOG.info("reconcile: adopted instance {} ({} {}, {}, TFTP port {})", id, s.machine(), s.revision(),
        tracked.state(), port);
    armTimeout(tracked);
    if (s.state() == InstanceState.STOPPING) {
      EndReason requested = tracked.life.requestedReason();
      if (requested == null) {
        resumeShutdown(tracked);
      } else {
        kill(tracked, requested);
      }
    }
  }

  /** Ends an unfinished record whose guest is gone; caller holds the lock. */
  private void endAtReconcile(Tracked tracked, String message) {
    releaseTftp(tracked);
    Lifecycle.Step step = Lifecycle.apply(tracked.life, new Lifecycle.Report.GuestEnded(EndReason.CRASHED, null, message),
        clock.instant());
    change(tracked, step.next());
    LOG.warn("reconcile: instance {} marked STOPPED ({}): {}", tracked.id(), tracked.snapshot().endReason(), message);
    publish(tracked, step);
  }

  /** Overlays of instances that no longer run, and folders that no record claims, are deleted. */
  private void removeLeftovers() throws IOException {
    try (var dirs = Files.newDirectoryStream(config.instancesDir())) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString();
        Tracked tracked = instances.get(name);
        if (tracked == null) {
          if (ID_SHAPE.matcher(name).matches() && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            deleteTree(dir);
            deleteTree(config.tftpDir().resolve(name));
            LOG.info("reconcile: removed folders of {}: no journal record claims them", name);
          }
        } else if (tracked.state() == InstanceState.STOPPED && Files.deleteIfExists(LaunchSpec.overlayDisk(dir))) {
          LOG.info("reconcile: removed the overlay disk of stopped instance {}", name);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private Tracked find(String id) {
    Tracked tracked = id == null ? null : instances.get(id);
    if (tracked == null) {
      throw new ManagerException(ManagerException.Kind.NOT_FOUND, "no instance '" + id + "'; 'buildhost instances' (GET /v1/instances) lists them");
    }
    return tracked;
  }

  private void checkOpen() {
    if (closed) {
      throw new ManagerException(ManagerException.Kind.CONFLICT,
          "the instance manager is closed (the daemon is shutting down); retry once it is back");
    }
  }

  /** {@code <machine>-<yyyyMMdd-HHmmss>-<4 hex>}: sortable, unique, safe as a file and domain name. */
  private String newId(String machine) {
    String base = ID_CHARS.matcher(machine).replaceAll("-");
    if (base.length() > 64) {
      base = base.substring(0, 64);
    }
    base = base + "-" + ID_TIME.format(clock.instant()) + "-";
    for (int attempt = 0; ; attempt++) {
      String id = base + String.format("%04x", random.nextInt(0x10000));
      if (!instances.containsKey(id) && !prepared.reserves(id) && !Files.exists(config.instancesDir().resolve(id))
          && !Files.exists(config.tftpDir().resolve(id))) {
        return id;
      }
      if (attempt > 1000) {
        throw new IllegalStateException("cannot find a free instance id for " + machine);
      }
    }
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** One instance as the manager tracks it; fields are guarded by the object's own lock. */
  private static final class Tracked {
    final Revision revision;
    final Path tftpDir;
    final Path instanceDir;
    final Instant deadline;
    /** The snapshot and the requested end reason; written under the lock, read without it. */
    volatile Lifecycle.State life;
    Guest guest;
    TftpServer server;
    /** The TFTP port of the prepared launch the instance took; 0 when it took none. */
    int preparedPort;
    ScheduledFuture<?> timeoutTask;
    ScheduledFuture<?> graceTask;
    ScheduledFuture<?> watchdogTask;
    final Object reportOrder = new Object();
    CompletableFuture<Void> pendingReports = CompletableFuture.completedFuture(null);

    Tracked(Lifecycle.State life, Revision revision, Path tftpDir, Path instanceDir, Instant deadline) {
      this.life = life;
      this.revision = revision;
      this.tftpDir = tftpDir;
      this.instanceDir = instanceDir;
      this.deadline = deadline;
    }

    Instance snapshot() {
      return life.instance();
    }

    String id() {
      return snapshot().id();
    }

    InstanceState state() {
      return snapshot().state();
    }
  }
}
