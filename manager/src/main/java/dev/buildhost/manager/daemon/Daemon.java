package dev.buildhost.manager.daemon;

import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.api.Metrics;
import dev.buildhost.manager.backend.Acceleration;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.bootstrap.StateStore;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.classpath.OptionalLibraries;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.manager.network.NetworkException;
import dev.buildhost.manager.network.ReconcileResult;
import dev.buildhost.tftp.net.Addresses;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running daemon: the guest network (bridge, firewall tables, dnsmasq; or the fallback user
 * mode), machine library, instance manager (which reconciles at open; the guest network is then
 * reconciled with the instances that live), the read-only TFTP server of {@code <root>/tftp} and
 * the HTTP API. {@link #close()} is what SIGTERM does: stop taking work, stop the TFTP server, and
 * leave the instances (and so the guest network) running unless the settings say to stop them.
 */
public final class Daemon implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Daemon.class);
  static final String LOCK_FILE = "daemon.lock";

  /** Beyond the poweroff grace, how long a stopping daemon waits for guests to end. */
  private static final Duration STOP_MARGIN = Duration.ofSeconds(15);

  /** Makes the backends for a config and the guest network (empty in network mode user). */
  @FunctionalInterface
  public interface Backends {
    List<InstanceBackend> make(ManagerConfig config, Optional<BridgeNetwork> bridge);
  }

  private final DaemonSettings settings;
  private final HostCommands hostCommands;
  private FileChannel lockChannel;
  private GuestNetworkStart network;
  private InstanceManager manager;
  private AutoCloseable metricsSubscription;
  private TftpServer tftp;
  private ApiServer api;
  private Fleet fleet;
  private FleetMember fleetMember;
  private boolean closed;

  private Daemon(DaemonSettings settings, HostCommands hostCommands) {
    this.settings = settings;
    this.hostCommands = hostCommands;
  }

  /**
   * Starts everything with backends that take no guest network; see {@link #start(DaemonSettings,
   * Backends, ApiServer.Limits)}.
   */
  public static Daemon start(
      DaemonSettings settings,
      Function<ManagerConfig, List<InstanceBackend>> backends,
      ApiServer.Limits limits)
      throws IOException {
    return start(settings, (config, bridge) -> backends.apply(config), limits);
  }

  /**
   * Starts everything; on failure closes what was started and throws.
   *
   * @param backends makes the backends for a config and the guest network (libvirt and Docker in
   *     production)
   */
  public static Daemon start(DaemonSettings settings, Backends backends, ApiServer.Limits limits)
      throws IOException {
    Daemon daemon = new Daemon(settings, new HostCommands());
    try {
      daemon.open(backends, limits);
      return daemon;
    } catch (IOException | RuntimeException e) {
      daemon.close();
      throw e;
    }
  }

  private void open(Backends backends, ApiServer.Limits limits) throws IOException {
    ManagerConfig config = settings.manager();
    lock(config.stateDir());
    String token = ApiCredentials.token(config.stateDir());
    String version = version();
    log.info(
        "buildhost {} daemon starting: root {}, state {}, acceleration {}",
        version,
        config.root(),
        config.stateDir(),
        config.acceleration().name().toLowerCase(Locale.ROOT));
    network = GuestNetworkStart.open(settings.network(), config.stateDir(), hostCommands);
    MachineLibrary library = new MachineLibrary(config.machinesDir());
    Metrics metrics = new Metrics();
    List<InstanceBackend> made = backends.make(config, network.bridge());
    Acceleration acceleration = acceleration(config, made);
    manager =
        InstanceManager.open(
            config,
            library::inService,
            made,
            network.bridge().isPresent()
                ? settings.network().settings().hostAddress()
                : InetAddress.getLoopbackAddress());
    metricsSubscription = manager.subscribe(metrics::onEvent);
    Bootstraps bootstraps = bootstraps(config, library, made);
    log.info(
        "instance manager open: {} instance(s) known after reconciliation", manager.list().size());
    if (network.bridge().isPresent()) {
      reconcileNetwork(network.bridge().get());
    }

    if (settings.tftpListen() != null) {
      tftp = startTftp(config.tftpDir(), settings.tftpListen(), metrics);
      log.info(
          "read-only TFTP server of {} on {}",
          config.tftpDir(),
          Addresses.hostPort(tftp.localAddress()));
    } else {
      log.info("read-only TFTP server off (tftp-listen = off)");
    }

    ApiServer.HostFacts facts =
        new ApiServer.HostFacts(
            version,
            acceleration.mode(),
            acceleration.reason(),
            HostVersions.probe(version),
            config.maxInstances(),
            config.ramBudgetMib(),
            new HostInfo.Tftp(
                tftp == null ? null : Addresses.hostPort(tftp.localAddress()),
                config.tftpPortFirst(),
                config.tftpPortLast()),
            config.root().toString(),
            config.stateDir().toString(),
            network.shown());
    if (settings.fleet().isPresent()) {
      OptionalLibraries.require(OptionalLibraries.Group.FLEET);
      fleet = Fleet.connect(settings.fleet().get());
    }
    try {
      api =
          new ApiServer(
                  settings.listen(),
                  token,
                  new ApiServer.Services(
                      manager, library, facts, metrics, bootstraps, Optional.ofNullable(fleet)),
                  limits)
              .start();
    } catch (IOException e) {
      throw new IOException(
          "cannot serve the API on "
              + Addresses.hostPort(settings.listen())
              + ": "
              + e.getMessage()
              + "; is another daemon running? choose another address with --listen",
          e);
    }
    ApiCredentials.publish(config.stateDir(), api.url());
    log.info(
        "API listening on {}, clients here use {} (token in {})",
        Addresses.hostPort(api.address()),
        api.url(),
        config.stateDir().resolve("api-token"));
    if (fleet != null) {
      fleetMember = FleetMember.join(fleet, api, manager);
      log.info(
          "fleet {}: keeping the record of host {} on {}",
          fleet.settings().name(),
          fleet.settings().host(),
          fleet.endpointsText());
    }
  }

  /** Toolchains and bootstrapped states; removes what unfinished bootstraps left. */
  private Bootstraps bootstraps(
      ManagerConfig config, MachineLibrary library, List<InstanceBackend> backends) {
    List<KeepsGuestDisk> keepers = new ArrayList<>();
    for (InstanceBackend backend : backends) {
      if (backend instanceof KeepsGuestDisk keeper) {
        keepers.add(keeper);
      }
    }
    Bootstraps bootstraps =
        new Bootstraps(
            manager,
            library,
            new Toolchains(config.tftpDir().resolve("toolchain"), settings.toolchains()),
            new StateStore(config.stateDir()),
            keepers,
            Clock.systemUTC());
    bootstraps.reconcile();
    log.info(
        "toolchains: {}",
        bootstraps.toolchains().current().isEmpty()
            ? "none"
            : bootstraps.toolchains().current().values());
    return bootstraps;
  }

  /**
   * Removes the taps, veths, rules and DHCP hosts of every instance that no longer lives (a killed
   * daemon's leftovers); those of live instances stay untouched, so their guests keep their
   * network.
   */
  private void reconcileNetwork(BridgeNetwork bridge) throws IOException {
    Set<String> live =
        manager.list().stream()
            .filter(i -> i.state() != InstanceState.STOPPED)
            .map(Instance::id)
            .collect(Collectors.toSet());
    try {
      ReconcileResult result = bridge.reconcile(live);
      log.info(
          "guest network reconciled with {} live instance(s): kept {}, removed ports {}, rules of"
              + " {}, DHCP hosts of {}",
          live.size(),
          result.kept(),
          result.removedPorts(),
          result.removedRules(),
          result.removedHosts());
    } catch (NetworkException e) {
      throw new IOException("cannot reconcile the guest network: " + e.getMessage(), e);
    }
  }

  /** The open bridge network, empty in network mode user (or before start). */
  public Optional<BridgeNetwork> bridgeNetwork() {
    return network == null ? Optional.empty() : network.bridge();
  }

  private static TftpServer startTftp(Path root, InetSocketAddress listen, Metrics metrics)
      throws IOException {
    try {
      return TftpServer.builder(root)
          .bindAddress(listen.getAddress())
          .port(listen.getPort())
          .writable(false)
          .listener(metrics::onTransfer)
          .build()
          .start();
    } catch (IOException e) {
      throw new IOException(
          "cannot serve TFTP on "
              + Addresses.hostPort(listen)
              + ": "
              + e.getMessage()
              + "; choose another address with --tftp-listen ADDR:PORT (or 'off')",
          e);
    }
  }

  /**
   * One daemon per state folder: the lock dies with the process, so a SIGKILL leaves none behind.
   */
  private void lock(Path stateDir) throws IOException {
    Files.createDirectories(stateDir);
    Path file = stateDir.resolve(LOCK_FILE);
    lockChannel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very process
    }
    if (lock == null) {
      String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
      lockChannel.close();
      lockChannel = null;
      throw new IOException(
          "another buildhost daemon ("
              + (holder.isEmpty() ? "pid unknown" : holder)
              + ") runs on the state folder "
              + stateDir
              + ": stop it first, or use another --state-dir");
    }
    lockChannel.truncate(0);
    lockChannel.write(StandardCharsets.UTF_8.encode("pid " + ProcessHandle.current().pid() + "\n"));
  }

  public URI url() {
    return api.url();
  }

  public InstanceManager manager() {
    return manager;
  }

  /** Stops taking work, stops the TFTP server and, if so set, the instances; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info("buildhost daemon stopping");
    if (fleetMember != null) {
      fleetMember.close();
    }
    if (fleet != null) {
      fleet.close();
    }
    if (api != null) {
      api.close();
      try {
        ApiCredentials.withdraw(settings.manager().stateDir());
      } catch (IOException e) {
        log.warn("cannot remove api.json: {}", e.toString());
      }
    }
    if (tftp != null) {
      tftp.close();
    }
    if (manager != null) {
      if (settings.stopInstancesOnExit()) {
        stopInstances();
      } else {
        // An instance already ending (terminated or powered off just before the signal) is let
        // end, so that the daemon knows whether a guest is left on the network it made.
        awaitEnd(i -> i.state() == InstanceState.STOPPING, "ending");
        long running = runningInstances();
        if (running > 0) {
          log.info("leaving {} instance(s) running: the next daemon adopts them", running);
        }
      }
    }
    if (metricsSubscription != null) {
      try {
        metricsSubscription.close();
      } catch (Exception e) {
        log.warn("unsubscribing the metrics failed: {}", e.toString());
      }
    }
    if (manager != null) {
      manager.close();
    }
    // Counted once the manager is closed: a guest whose end was reported meanwhile is not left.
    closeNetwork(manager == null ? -1 : runningInstances());
    if (network != null) {
      network.bridge().ifPresent(BridgeNetwork::close); // the next daemon may claim its names
    }
    if (lockChannel != null) {
      try {
        lockChannel.close();
      } catch (IOException e) {
        log.warn("cannot release the daemon lock: {}", e.toString());
      }
    }
    log.info("buildhost daemon stopped");
  }

  /**
   * Takes the bridge network down when no guest is left on it; guests left running for the next
   * daemon keep it (their ports, rules and DHCP entries), which that daemon adopts. {@code running}
   * is -1 when the manager never opened: then guests of a previous daemon may still use the
   * network, and any guest port on the bridge keeps it.
   */
  private void closeNetwork(long running) {
    if (network == null || network.bridge().isEmpty()) {
      return;
    }
    BridgeNetwork bridge = network.bridge().get();
    if (running < 0) {
      // No journal was read: only the bridge itself says whether a guest still uses it.
      try {
        List<String> ports = bridge.guestPorts();
        if (!ports.isEmpty()) {
          log.info(
              "leaving the guest network {} as it is: the instance manager did not open and"
                  + " guest ports {} are on it",
              settings.network().settings().bridgeName(),
              ports);
          return;
        }
      } catch (NetworkException e) {
        log.warn(
            "leaving the guest network {} as it is: cannot list its ports: {}",
            settings.network().settings().bridgeName(),
            e.getMessage());
        return;
      }
    } else if (running > 0) {
      log.info(
          "leaving the guest network {} up for {} running instance(s)",
          settings.network().settings().bridgeName(),
          running);
      return;
    }
    try {
      bridge.shutDown();
      log.info("guest network {} taken down", settings.network().settings().bridgeName());
    } catch (NetworkException e) {
      log.warn("cannot take the guest network down: {}", e.getMessage());
    }
  }

  /**
   * Whether stop-instances-on-exit powers the instance off and waits for it: not a STOPPED one, and
   * not an UNKNOWN one, which refuses poweroff and is left to the operator (doc/api.md).
   */
  private static boolean poweredOffOnExit(Instance instance) {
    return instance.state() != InstanceState.STOPPED && instance.state() != InstanceState.UNKNOWN;
  }

  private long runningInstances() {
    return manager.list().stream().filter(i -> i.state() != InstanceState.STOPPED).count();
  }

  private void stopInstances() {
    List<String> running =
        manager.list().stream().filter(Daemon::poweredOffOnExit).map(Instance::id).toList();
    log.info("powering off {} running instance(s) (stop-instances-on-exit)", running.size());
    for (String id : running) {
      try {
        manager.poweroff(id);
      } catch (ManagerException e) {
        log.warn("instance {}: poweroff failed: {}", id, e.getMessage());
      }
    }
    awaitEnd(Daemon::poweredOffOnExit, "powered off");
  }

  /**
   * Waits, at most the poweroff grace and a margin, until no instance matches {@code waitedFor};
   * logs those that still match at the end ({@code what}: how they were ended).
   */
  private void awaitEnd(Predicate<Instance> waitedFor, String what) {
    if (manager.list().stream().noneMatch(waitedFor)) {
      return;
    }
    log.info("waiting for the {} instance(s) to stop", what);
    Instant deadline = Instant.now().plus(settings.manager().poweroffGrace()).plus(STOP_MARGIN);
    // Every event of the manager wakes the wait, which then looks again: it ends as the last
    // instance stops, not at the next turn of a poll. Events are published after the state
    // changed, and the look and the wait share the lock the listener notifies under, so no stop
    // is missed.
    Object changed = new Object();
    AutoCloseable wakeUps =
        manager.subscribe(
            event -> {
              synchronized (changed) {
                changed.notifyAll();
              }
            });
    try {
      synchronized (changed) {
        while (manager.list().stream().anyMatch(waitedFor)) {
          long left = Duration.between(Instant.now(), deadline).toMillis();
          if (left <= 0) {
            break;
          }
          changed.wait(left);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } finally {
      try {
        wakeUps.close();
      } catch (Exception e) {
        log.warn("unsubscribing from the instance events failed: {}", e.toString());
      }
    }
    manager.list().stream()
        .filter(waitedFor)
        .forEach(
            i ->
                log.warn(
                    "instance {} still {} at exit; the next daemon reconciles it",
                    i.id(),
                    i.state()));
  }

  /**
   * The VM acceleration in use and why: what the backend running VMs says, else the configured
   * value.
   */
  private static Acceleration acceleration(ManagerConfig config, List<InstanceBackend> backends) {
    for (InstanceBackend backend : backends) {
      Optional<Acceleration> acceleration = backend.acceleration();
      if (acceleration.isPresent()) {
        return acceleration.get();
      }
    }
    return new Acceleration(
        config.acceleration().name().toLowerCase(Locale.ROOT),
        "configured; no libvirt backend runs");
  }

  static String version() {
    String version = Daemon.class.getPackage().getImplementationVersion();
    return version == null ? "development build" : version;
  }
}
