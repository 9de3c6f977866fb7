package dev.buildhost.manager.libvirt;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.Acceleration;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.network.BridgeNetwork;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.libvirt.event.ConnectionCloseListener;
import org.libvirt.event.ConnectionCloseReason;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.StoppedDetail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Runs instances of {@code type: kvm} machines as transient libvirt domains (see {@link DomainXml})
 * over a qcow2 overlay of the revision's disk, on QEMU user networking or, given the guest bridge,
 * on a tap of its own ({@link VmNetwork}). Domain lifecycle events come through libvirt's event
 * loop; the connection is opened on first use, so the backend can be created while libvirtd is down
 * and its instances then fail to start with a message saying so.
 *
 * <p>When the connection closes (libvirtd restarted, or stopped answering its keepalives), the
 * backend reconnects in the background and reports the end of every guest whose domain ended
 * meanwhile: their lifecycle events were lost with the connection.
 */
public final class LibvirtBackend implements InstanceBackend, KeepsGuestDisk {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtBackend.class);
  private static final Pattern MAC = Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");
  private static final int DEFAULT_CPUS = 1;

  /** libvirt-java's flag value for "all domains" in listAllDomains. */
  private static final int ALL_DOMAINS = 0;

  /** A libvirtd that misses this many keepalives in a row, one every interval, counts as gone. */
  private static final int KEEPALIVE_INTERVAL_SECONDS = 5;

  private static final int KEEPALIVE_COUNT = 3;
  private static final Duration FIRST_RECONNECT_DELAY = Duration.ofMillis(200);
  private static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(5);

  private final ManagerConfig config;
  private final VmNetwork network;

  /** Written into every domain's metadata: this backend lists and adopts only domains it owns. */
  private final String owner;

  private final CompletableFuture<AccelerationProbe.Choice> acceleration;

  /** Where the guests this backend launched or adopted report, by domain name. */
  private final Map<String, GuestReports> listeners = new ConcurrentHashMap<>();

  /** Runs the guests' reports off libvirt's event loop, which must not wait for the lifecycle. */
  private final ExecutorService reportThreads =
      Executors.newCachedThreadPool(Threads.daemonFactory("libvirt-reports"));

  /** Domains being created: their listener is registered, their domain may not exist yet. */
  private final Set<String> launching = ConcurrentHashMap.newKeySet();

  private final LifecycleListener lifecycle = this::onLifecycle;
  private final ConnectionCloseListener closeListener = this::onConnectionClosed;
  private final ScheduledExecutorService reconnector =
      Executors.newSingleThreadScheduledExecutor(Threads.daemonFactory("libvirt-reconnect"));
  private Connect connection;
  private boolean closed;

  /** A backend whose VMs use QEMU user networking (network mode user). */
  public LibvirtBackend(ManagerConfig config) {
    this(config, Optional.empty());
  }

  /**
   * @param bridge the guest bridge each VM gets a tap of; empty for QEMU user networking
   */
  public LibvirtBackend(ManagerConfig config, Optional<BridgeNetwork> bridge) {
    this.config = config;
    this.network = new VmNetwork(bridge);
    this.owner = config.stateDir().toAbsolutePath().normalize().toString();
    this.acceleration =
        CompletableFuture.supplyAsync(() -> AccelerationProbe.choose(config.acceleration()));
  }

  @Override
  public MachineType type() {
    return MachineType.KVM;
  }

  /** The acceleration chosen (waits for the probe). */
  public AccelerationProbe.Choice accelerationChoice() {
    return acceleration.join();
  }

  @Override
  public Optional<Acceleration> acceleration() {
    AccelerationProbe.Choice choice = accelerationChoice();
    return Optional.of(new Acceleration(choice.kvm() ? "kvm" : "tcg", choice.reason()));
  }

  @Override
  public Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException {
    Revision revision = spec.revision();
    Manifest manifest = revision.manifest();
    VmOptions options = VmOptions.parse(manifest.options());
    if (manifest.mac() != null && !MAC.matcher(manifest.mac()).matches()) {
      throw new BackendException(
          "manifest mac '" + manifest.mac() + "' is not a MAC address like 52:54:00:12:34:56");
    }
    Path kernel = existing(revision, manifest.kernel(), "kernel");
    Path initrd = existing(revision, manifest.initrd(), "initrd");
    Path base = existing(revision, manifest.disk(), "disk");
    if (kernel == null && base == null) {
      throw new BackendException(
          "machine "
              + revision.machine()
              + " "
              + revision.version()
              + " names neither a disk nor a kernel in its manifest: nothing to boot");
    }
    Path overlay = base == null ? null : spec.overlayDisk();
    String name = DomainXml.domainName(spec.instanceId());
    // The tap, its rules and DHCP entry exist before QEMU opens the tap; every failure below
    // removes them again.
    VmNetwork.Nic nic = network.attach(spec.instanceId(), manifest.mac(), spec.tftpPort());
    String xml;
    try {
      xml = domainXml(spec, options, kernel, initrd, overlay, nic).toXml();
      if (overlay != null) {
        BootstrapLayers.createOverlay(spec, base, overlay);
      }
    } catch (BackendException | RuntimeException e) {
      network.release(spec.instanceId());
      throw e;
    }
    GuestReports reports = GuestReports.forLaunch(listener, reportThreads);
    launching.add(name);
    listeners.put(name, reports);
    try {
      Domain domain = connection().domainCreateXML(xml, 0);
      free(domain);
    } catch (LibvirtException | BackendException | RuntimeException e) {
      listeners.remove(name);
      if (overlay != null) {
        QemuImg.deleteQuietly(overlay);
      }
      network.release(spec.instanceId());
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw e instanceof BackendException be
          ? be
          : new BackendException("libvirt could not start domain " + name + ": " + message(e), e);
    } finally {
      launching.remove(name);
    }
    LOG.debug("domain {} created", name);
    reports.runningNow();
    return new LibvirtGuest(spec.instanceId(), overlay);
  }

  /** The domain XML of an instance on QEMU user networking. */
  public DomainXml domainXml(
      LaunchSpec spec, VmOptions options, Path kernel, Path initrd, Path overlay) {
    return domainXml(
        spec,
        options,
        kernel,
        initrd,
        overlay,
        new VmNetwork.Nic(null, spec.revision().manifest().mac()));
  }

  /** The domain XML of an instance, as {@link #launch} creates it. */
  DomainXml domainXml(
      LaunchSpec spec,
      VmOptions options,
      Path kernel,
      Path initrd,
      Path overlay,
      VmNetwork.Nic nic) {
    Manifest manifest = spec.revision().manifest();
    return new DomainXml(
        spec.instanceId(),
        owner,
        accelerationChoice().domainType(),
        spec.ramMib(),
        manifest.cpus() != null && manifest.cpus() > 0 ? manifest.cpus() : DEFAULT_CPUS,
        spec.consoleLog(),
        nic.mac(),
        overlay,
        kernel,
        initrd,
        manifest.cmdline(),
        spec.tftpPort(),
        options,
        nic.tap());
  }

  @Override
  public Set<String> ourInstanceIds() throws BackendException {
    Set<String> ids = new HashSet<>();
    try {
      for (Domain domain : connection().listAllDomains(ALL_DOMAINS)) {
        try {
          String id = labelOf(domain);
          if (id != null) {
            ids.add(id);
          }
        } finally {
          free(domain);
        }
      }
    } catch (LibvirtException e) {
      throw new BackendException(
          "cannot list libvirt domains at " + config.libvirtUri() + ": " + message(e), e);
    }
    return ids;
  }

  @Override
  public Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException {
    String name = DomainXml.domainName(spec.instanceId());
    listeners.put(name, new GuestReports(listener, reportThreads));
    try {
      Domain domain = lookup(name);
      try {
        if (domain == null || domain.isActive() != 1) {
          throw new BackendException("domain " + name + " is no longer running");
        }
        if (!spec.instanceId().equals(labelOf(domain))) {
          throw new BackendException("domain " + name + " is not labelled as owned by " + owner);
        }
      } finally {
        free(domain);
      }
    } catch (LibvirtException | BackendException e) {
      listeners.remove(name);
      throw e instanceof BackendException be
          ? be
          : new BackendException("cannot adopt domain " + name + ": " + message(e), e);
    }
    Path overlay = spec.overlayDisk();
    return new LibvirtGuest(spec.instanceId(), Files.exists(overlay) ? overlay : null);
  }

  @Override
  public void removeOrphan(String instanceId) throws BackendException {
    String name = DomainXml.domainName(instanceId);
    try {
      Domain domain = lookup(name);
      try {
        if (domain != null && !instanceId.equals(labelOf(domain))) {
          throw new BackendException(
              "domain " + name + " is not labelled as owned by " + owner + "; left alone");
        }
      } finally {
        free(domain);
      }
    } catch (LibvirtException e) {
      throw new BackendException("cannot look up domain " + name + ": " + message(e), e);
    }
    destroy(name);
    network.release(instanceId);
    QemuImg.deleteQuietly(LaunchSpec.overlayDisk(config.instancesDir().resolve(instanceId)));
  }

  @Override
  public KeptDisk keep(LaunchSpec spec, Path into, Map<String, String> labels)
      throws BackendException {
    return BootstrapLayers.keep(spec, into);
  }

  @Override
  public void discard(KeptDisk kept) {
    BootstrapLayers.discard(kept);
  }

  @Override
  public String export(KeptDisk kept, Path folder) throws BackendException {
    return BootstrapLayers.flatten(kept, folder);
  }

  @Override
  public synchronized void close() {
    closed = true;
    reconnector.shutdownNow();
    reportThreads.shutdown();
    drop();
  }

  /** Closes the connection, if there is one; caller holds this object's lock. */
  private void drop() {
    if (connection == null) {
      return;
    }
    try {
      connection.unregisterCloseListener();
      connection.removeLifecycleListener(lifecycle);
    } catch (LibvirtException | RuntimeException e) {
      LOG.debug("removing the libvirt listeners failed: {}", e.getMessage());
    }
    try {
      connection.close();
    } catch (LibvirtException e) {
      LOG.debug("closing the libvirt connection failed: {}", e.getMessage());
    }
    connection = null;
  }

  // ---------------------------------------------------------------------------------------------

  private int onLifecycle(Domain domain, DomainEvent event) {
    try {
      String name = domain.getName();
      DomainEventType type = event.getType();
      if (type == DomainEventType.STARTED) {
        GuestReports reports = listeners.get(name);
        if (reports != null) {
          reports.running();
        }
      } else if (type == DomainEventType.STOPPED) {
        Object detail = event.getDetail();
        GuestReports reports = listeners.remove(name);
        if (reports != null) {
          LOG.debug("domain {} stopped ({})", name, detail);
          reports.stopped(
              detail == StoppedDetail.SHUTDOWN ? EndReason.POWEROFF : EndReason.CRASHED, null);
        }
      }
    } catch (LibvirtException | RuntimeException e) {
      LOG.error("cannot handle libvirt event {}: {}", event, e.getMessage(), e);
    }
    return 0;
  }

  /** Runs on libvirt's event loop thread, which must not call libvirt: the work is handed on. */
  private void onConnectionClosed(Connect closedConnection, ConnectionCloseReason reason) {
    if (reason == ConnectionCloseReason.CLIENT) {
      return;
    }
    LOG.warn(
        "the connection to libvirtd at {} closed ({}); reconnecting to catch up with its domains",
        config.libvirtUri(),
        reason);
    try {
      reconnector.execute(() -> reconnect(closedConnection, FIRST_RECONNECT_DELAY));
    } catch (RejectedExecutionException e) {
      LOG.debug("the libvirt backend is closed; not reconnecting");
    }
  }

  // ReferenceEquality: the connection that closed is that very object, not an equal one.
  // FutureReturnValueIgnored: the retry reports its own failures and nothing waits for it.
  @SuppressWarnings({"ReferenceEquality", "FutureReturnValueIgnored"})
  private void reconnect(Connect closedConnection, Duration delay) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (connection == closedConnection) {
        drop();
      }
    }
    try {
      connection();
      catchUp();
    } catch (BackendException e) {
      Duration next =
          delay.multipliedBy(2).compareTo(MAX_RECONNECT_DELAY) > 0
              ? MAX_RECONNECT_DELAY
              : delay.multipliedBy(2);
      LOG.debug(
          "reconnecting to libvirtd failed ({}); trying again in {} ms",
          e.getMessage(),
          delay.toMillis());
      try {
        reconnector.schedule(
            () -> reconnect(closedConnection, next), delay.toMillis(), TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException closing) {
        LOG.debug("the libvirt backend is closed; not reconnecting");
      }
    }
  }

  /** Reports the end of the guests whose domain ended while no connection could tell. */
  // listeners is a ConcurrentHashMap: removing while iterating its key set is safe.
  @SuppressWarnings("ModifyCollectionInEnhancedForLoop")
  private void catchUp() throws BackendException {
    for (String name : listeners.keySet()) {
      if (launching.contains(name)) {
        continue;
      }
      boolean running;
      try {
        Domain domain = lookup(name);
        try {
          running = domain != null && domain.isActive() == 1;
        } finally {
          free(domain);
        }
      } catch (LibvirtException e) {
        throw new BackendException("cannot look up domain " + name + ": " + message(e), e);
      }
      GuestReports reports = running ? null : listeners.remove(name);
      if (reports != null) {
        LOG.warn("domain {} ended while the connection to libvirtd was down", name);
        reports.stopped(EndReason.CRASHED, null);
      }
    }
    LOG.info(
        "reconnected to libvirtd at {}; {} domain(s) of ours run on",
        config.libvirtUri(),
        listeners.size());
  }

  private synchronized Connect connection() throws BackendException {
    if (closed) {
      throw new BackendException("the libvirt backend is closed");
    }
    try {
      if (connection != null && connection.isAlive()) {
        return connection;
      }
    } catch (LibvirtException e) {
      LOG.warn(
          "the connection to libvirtd at {} is broken ({}); reconnecting",
          config.libvirtUri(),
          message(e));
    }
    drop();
    try {
      LibvirtEventLoop.ensureStarted();
      Connect fresh = new Connect(config.libvirtUri());
      fresh.addLifecycleListener(lifecycle);
      watchForClose(fresh);
      connection = fresh;
      LOG.info("connected to libvirtd at {}", config.libvirtUri());
      return fresh;
    } catch (LibvirtException e) {
      connection = null;
      throw new BackendException(
          "cannot connect to libvirtd at "
              + config.libvirtUri()
              + ": "
              + message(e)
              + " (is libvirtd running? start it with 'virtlogd -d && libvirtd -d')",
          e);
    }
  }

  /** Drivers that run in the daemon's own process (test:///default) have no connection to lose. */
  private void watchForClose(Connect fresh) {
    try {
      fresh.registerCloseListener(closeListener);
      fresh.setKeepAlive(KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_COUNT);
    } catch (LibvirtException e) {
      LOG.debug("the libvirt connection cannot report being closed: {}", message(e));
    }
  }

  /**
   * The instance id in a domain's buildhost metadata, or null for a domain that is not ours: not
   * labelled, or labelled by a manager with another state folder.
   */
  private String labelOf(Domain domain) throws LibvirtException {
    String name = domain.getName();
    if (!name.startsWith(DomainXml.NAME_PREFIX)) {
      return null;
    }
    Element label;
    try {
      String metadata = domain.getMetadata(Domain.MetadataType.ELEMENT, DomainXml.METADATA_NS, 0);
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      label =
          factory
              .newDocumentBuilder()
              .parse(new InputSource(new StringReader(metadata)))
              .getDocumentElement();
    } catch (LibvirtException
        | ParserConfigurationException
        | SAXException
        | IOException
        | RuntimeException e) {
      return null;
    }
    String id = label.getTextContent().trim();
    if (!owner.equals(label.getAttribute("owner")) || !name.equals(DomainXml.domainName(id))) {
      return null;
    }
    return id;
  }

  private Domain lookup(String name) throws BackendException, LibvirtException {
    try {
      return connection().domainLookupByName(name);
    } catch (LibvirtException e) {
      if (e.getError() != null && e.getError().getCode() == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return null;
      }
      throw e;
    }
  }

  /** Destroys the domain if it exists; a domain already gone is fine. */
  private void destroy(String name) throws BackendException {
    try {
      Domain domain = lookup(name);
      if (domain != null) {
        try {
          domain.destroy();
        } catch (LibvirtException e) {
          if (e.getError() == null
              || (e.getError().getCode() != Error.ErrorNumber.VIR_ERR_NO_DOMAIN
                  && e.getError().getCode() != Error.ErrorNumber.VIR_ERR_OPERATION_INVALID)) {
            throw e;
          }
        } finally {
          free(domain);
        }
      }
    } catch (LibvirtException e) {
      throw new BackendException("cannot destroy domain " + name + ": " + message(e), e);
    }
  }

  private static Path existing(Revision revision, String file, String field)
      throws BackendException {
    if (file == null) {
      return null;
    }
    Path path = revision.file(file);
    if (!Files.isRegularFile(path)) {
      throw new BackendException(
          "the "
              + field
              + " "
              + path
              + " named by the manifest of "
              + revision.machine()
              + " "
              + revision.version()
              + " does not exist");
    }
    return path;
  }

  private static void free(Domain domain) {
    if (domain != null) {
      try {
        domain.free();
      } catch (LibvirtException e) {
        LOG.debug("freeing a domain handle failed: {}", e.getMessage());
      }
    }
  }

  private static String message(Exception e) {
    if (e instanceof LibvirtException le
        && le.getError() != null
        && le.getError().getMessage() != null) {
      return le.getError().getMessage();
    }
    return e.getMessage();
  }

  /** One domain as the lifecycle drives it. */
  private final class LibvirtGuest implements Guest {
    private final String instanceId;
    private final String name;
    private final Path overlay;

    LibvirtGuest(String instanceId, Path overlay) {
      this.instanceId = instanceId;
      this.name = DomainXml.domainName(instanceId);
      this.overlay = overlay;
    }

    @Override
    public String instanceId() {
      return instanceId;
    }

    @Override
    public void shutdown() {
      try {
        Domain domain = lookup(name);
        if (domain != null) {
          try {
            domain.shutdown();
          } finally {
            free(domain);
          }
        }
      } catch (LibvirtException | BackendException e) {
        LOG.warn(
            "ACPI shutdown of domain {} failed: {}",
            name,
            e instanceof LibvirtException le ? message(le) : e.getMessage());
      }
    }

    @Override
    public void kill() {
      try {
        destroy(name);
      } catch (BackendException e) {
        LOG.warn("{}", e.getMessage());
      }
    }

    @Override
    public void release() {
      listeners.remove(name);
      try {
        destroy(name);
      } catch (BackendException e) {
        LOG.warn("releasing instance {}: {}", instanceId, e.getMessage());
      }
      network.release(instanceId);
      if (overlay != null) {
        QemuImg.deleteQuietly(overlay);
      }
    }
  }
}
