package dev.buildhost.manager.libvirt;

import static dev.buildhost.manager.libvirt.LibvirtConnection.free;
import static dev.buildhost.manager.libvirt.LibvirtConnection.message;

import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.Acceleration;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.RetriedRemovals;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.network.BridgeNetwork;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs instances of {@code type: kvm} machines as transient libvirt domains (see {@link DomainXml})
 * over a qcow2 overlay of the revision's disk, on QEMU user networking or, given the guest bridge,
 * on a tap of its own ({@link VmNetwork}). Domain lifecycle events come through libvirt's event
 * loop on the {@link LibvirtConnection}, which is opened on first use: the backend can be created
 * while libvirtd is down, and its instances then fail to start with a message saying so.
 *
 * <p>When the connection is open again after it was lost (libvirtd restarted, or stopped answering
 * its keepalives), the backend catches up: it reports the end of every guest whose domain ended
 * meanwhile, since their lifecycle events were lost with the connection.
 */
public final class LibvirtBackend implements InstanceBackend, KeepsGuestDisk {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtBackend.class);
  private static final Pattern MAC = Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");
  private static final int DEFAULT_CPUS = 1;

  /** libvirt-java's flag value for "all domains" in listAllDomains. */
  private static final int ALL_DOMAINS = 0;

  private final ManagerConfig config;
  private final VmNetwork network;

  /** Written into every domain's metadata: this backend lists and adopts only domains it owns. */
  private final String owner;

  private final CompletableFuture<AccelerationProbe.Choice> acceleration;

  /** Where the guests this backend launched or adopted report. */
  private final DomainReports reports = new DomainReports();

  private final LibvirtConnection connection;

  /** The domains of released guests that libvirtd did not destroy yet. */
  private final RetriedRemovals removals;

  /** A backend whose VMs use QEMU user networking (network mode user). */
  public LibvirtBackend(ManagerConfig config) {
    this(config, Optional.empty());
  }

  /**
   * @param bridge the guest bridge each VM gets a tap of; empty for QEMU user networking
   */
  public LibvirtBackend(ManagerConfig config, Optional<BridgeNetwork> bridge) {
    this(config, bridge, Scheduler.onThread("libvirt-reconnect"));
  }

  /**
   * @param reconnects runs the reconnects after the connection to libvirtd was lost
   */
  LibvirtBackend(ManagerConfig config, Optional<BridgeNetwork> bridge, Scheduler reconnects) {
    this.config = config;
    this.connection =
        new LibvirtConnection(config.libvirtUri(), reports::onLifecycle, this::catchUp, reconnects);
    this.removals = new RetriedRemovals("domain", "once libvirtd answers", connection::destroy);
    this.network = new VmNetwork(bridge);
    this.owner = config.stateDir().toAbsolutePath().normalize().toString();
    this.acceleration =
        CompletableFuture.supplyAsync(() -> AccelerationProbe.choose(config.acceleration()));
  }

  /** Once the connection is open again: the guests that ended meanwhile, then the destroys left. */
  private void catchUp(LibvirtConnection reconnected) throws BackendException {
    reports.catchUp(reconnected);
    removals.retry();
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
    String name = DomainXml.domainName(spec.instanceId());
    // The tap, its rules and DHCP entry exist before QEMU opens the tap; every failure below
    // removes them again.
    VmNetwork.Nic nic = network.attach(spec.instanceId(), manifest.mac(), spec.tftpPort());
    String xml;
    try {
      xml = prepare(spec, options, kernel, initrd, base, nic).toXml();
    } catch (BackendException | RuntimeException e) {
      network.release(spec.instanceId());
      throw e;
    }
    GuestReports guestReports = reports.creating(name, listener);
    try {
      Domain domain = connection.get().domainCreateXML(xml, 0);
      free(domain);
    } catch (LibvirtException | BackendException | RuntimeException e) {
      reports.forget(name);
      deleteInstanceFiles(spec.instanceDir());
      network.release(spec.instanceId());
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw e instanceof BackendException be
          ? be
          : new BackendException(
              "libvirt could not start domain " + name + ": " + message(e) + accessHint(e), e);
    }
    reports.created(name);
    LOG.debug("domain {} created", name);
    guestReports.runningNow();
    removals.retry();
    return new LibvirtGuest(spec.instanceId(), spec.instanceDir());
  }

  /**
   * Makes the files of an instance on QEMU user networking as {@link #launch} does (the overlay,
   * the copies of kernel and initrd) and returns its domain XML: for benchmarks that create the
   * same domain with virsh.
   */
  public DomainXml prepare(LaunchSpec spec) throws BackendException {
    Revision revision = spec.revision();
    Manifest manifest = revision.manifest();
    return prepare(
        spec,
        VmOptions.parse(manifest.options()),
        existing(revision, manifest.kernel(), "kernel"),
        existing(revision, manifest.initrd(), "initrd"),
        existing(revision, manifest.disk(), "disk"),
        new VmNetwork.Nic(null, manifest.mac()));
  }

  /**
   * The instance's files in its folder, then its domain XML; on failure the files are removed.
   *
   * @param base the revision's disk, or null for a diskless machine
   */
  private DomainXml prepare(
      LaunchSpec spec, VmOptions options, Path kernel, Path initrd, Path base, VmNetwork.Nic nic)
      throws BackendException {
    try {
      BootFiles boot = BootFiles.copy(kernel, initrd, spec.instanceDir());
      DomainXml.Disk disk =
          base == null
              ? null
              : new DomainXml.Disk(
                  spec.overlayDisk(),
                  BootstrapLayers.createOverlay(spec, base, spec.overlayDisk()));
      Manifest manifest = spec.revision().manifest();
      return new DomainXml(
          spec.instanceId(),
          owner,
          accelerationChoice().domainType(),
          spec.ramMib(),
          manifest.cpus() != null && manifest.cpus() > 0 ? manifest.cpus() : DEFAULT_CPUS,
          spec.consoleLog(),
          nic.mac(),
          disk,
          boot.kernel(),
          boot.initrd(),
          manifest.cmdline(),
          spec.tftpPort(),
          options,
          nic.tap());
    } catch (BackendException | RuntimeException e) {
      deleteInstanceFiles(spec.instanceDir());
      throw e;
    }
  }

  /** The overlay and the boot files of an instance, which end with its guest. */
  private static void deleteInstanceFiles(Path instanceDir) {
    QemuImg.deleteQuietly(LaunchSpec.overlayDisk(instanceDir));
    BootFiles.deleteQuietly(instanceDir);
  }

  /**
   * QEMU runs as libvirt's own user (libvirt-qemu on Debian), which reads the revision's files as
   * they are: a permission error most likely means a folder closed to others on the way.
   */
  private static String accessHint(Exception e) {
    String text = message(e);
    return text != null && text.contains("Permission denied")
        ? " (QEMU runs as libvirt's own user: the revision's files must be readable by others, and"
            + " the folders above them and above the instance folder passable, o+x)"
        : "";
  }

  @Override
  public Set<String> ourInstanceIds() throws BackendException {
    Set<String> ids = new HashSet<>();
    try {
      for (Domain domain : connection.get().listAllDomains(ALL_DOMAINS)) {
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
    reports.adopted(name, listener);
    try {
      Domain domain = connection.lookup(name);
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
      reports.forget(name);
      throw e instanceof BackendException be
          ? be
          : new BackendException("cannot adopt domain " + name + ": " + message(e), e);
    }
    return new LibvirtGuest(spec.instanceId(), spec.instanceDir());
  }

  @Override
  public void removeOrphan(String instanceId) throws BackendException {
    String name = DomainXml.domainName(instanceId);
    try {
      Domain domain = connection.lookup(name);
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
    connection.destroy(name);
    network.release(instanceId);
    deleteInstanceFiles(config.instancesDir().resolve(instanceId));
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
  public void close() {
    connection.close();
    reports.close();
    removals.close();
  }

  /** The connection to libvirtd, for tests that make it close as libvirtd going away would. */
  LibvirtConnection connection() {
    return connection;
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
    String metadata;
    try {
      metadata = domain.getMetadata(Domain.MetadataType.ELEMENT, DomainXml.METADATA_NS, 0);
    } catch (LibvirtException e) {
      return null; // no metadata of ours
    }
    return DomainXml.instanceIdIn(metadata, name, owner);
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

  /** One domain as the lifecycle drives it. */
  private final class LibvirtGuest implements Guest {
    private final String instanceId;
    private final String name;
    private final Path instanceDir;

    LibvirtGuest(String instanceId, Path instanceDir) {
      this.instanceId = instanceId;
      this.name = DomainXml.domainName(instanceId);
      this.instanceDir = instanceDir;
    }

    @Override
    public String instanceId() {
      return instanceId;
    }

    @Override
    public void shutdown() {
      try {
        Domain domain = connection.lookup(name);
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
        connection.destroy(name);
      } catch (BackendException e) {
        LOG.warn("{}", e.getMessage());
      }
    }

    @Override
    public void release() {
      reports.forget(name);
      removals.remove(instanceId, name);
      network.release(instanceId);
      deleteInstanceFiles(instanceDir);
    }
  }
}
