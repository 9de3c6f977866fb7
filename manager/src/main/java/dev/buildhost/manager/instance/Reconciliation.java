package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.journal.Journal;
import dev.buildhost.manager.journal.JournalEntry;
import dev.buildhost.manager.journal.UnreadableRecord;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At open, compares the journal with the guests the backends report, after a daemon that may have
 * died: live guests of unfinished instances are adopted, records whose guest is gone end as
 * CRASHED, instances whose record cannot be read are kept as UNKNOWN with their guest, folders and
 * port, guests and folders that no record claims are removed.
 */
final class Reconciliation {
  private static final Logger LOG = LoggerFactory.getLogger(Reconciliation.class);

  private final ManagerConfig config;
  private final Map<MachineType, InstanceBackend> backends;
  private final Journal journal;
  private final InstanceRegistry registry;
  private final InstanceTftpServers tftp;
  private final InstanceLifecycle lifecycle;
  private final UnknownInstances unknown;

  Reconciliation(
      ManagerConfig config,
      Map<MachineType, InstanceBackend> backends,
      Journal journal,
      InstanceRegistry registry,
      InstanceTftpServers tftp,
      InstanceLifecycle lifecycle,
      UnknownInstances unknown) {
    this.config = config;
    this.backends = backends;
    this.journal = journal;
    this.registry = registry;
    this.tftp = tftp;
    this.lifecycle = lifecycle;
    this.unknown = unknown;
  }

  void run() throws IOException {
    Map<MachineType, Set<String>> live = new EnumMap<>(MachineType.class);
    for (InstanceBackend backend : backends.values()) {
      try {
        live.put(backend.type(), new HashSet<>(backend.ourInstanceIds()));
      } catch (BackendException | RuntimeException e) {
        LOG.error(
            "reconcile: cannot list the guests of the {} backend: {}",
            backend.type(),
            e.getMessage());
      }
    }
    for (JournalEntry entry : journal.readAll()) {
      TrackedInstance tracked =
          new TrackedInstance(
              new Lifecycle.State(entry.instance(), entry.requestedReason()),
              entry.revision(),
              config.tftpDir().resolve(entry.id()),
              config.instancesDir().resolve(entry.id()),
              entry.deadline());
      restoreKept(tracked, entry);
      registry.add(tracked);
      if (tracked.state() == InstanceState.STOPPED) {
        continue;
      }
      Set<String> ids = live.get(tracked.snapshot().type());
      synchronized (tracked) {
        if (ids == null) {
          lifecycle.endAtReconcile(
              tracked,
              "the "
                  + tracked.snapshot().type().manifestValue()
                  + " backend was unavailable when the daemon restarted; a guest left running is removed as an orphan at the next restart");
        } else if (ids.remove(tracked.id())) {
          adopt(tracked);
        } else {
          lifecycle.endAtReconcile(tracked, "its guest was gone when the daemon restarted");
        }
      }
    }
    for (UnreadableRecord bad : journal.unreadable()) {
      if (registry.get(bad.id()) != null) {
        LOG.warn(
            "reconcile: {} is left alone: a readable record of instance {} is there too",
            bad.file(),
            bad.id());
      } else {
        unknown.register(bad, live);
      }
    }
    for (Map.Entry<MachineType, Set<String>> orphans : live.entrySet()) {
      for (String id : orphans.getValue()) {
        try {
          backends.get(orphans.getKey()).removeOrphan(id);
          LOG.info(
              "reconcile: removed orphan guest {} ({}): no journal record claims it",
              id,
              orphans.getKey());
        } catch (BackendException | RuntimeException e) {
          LOG.error("reconcile: cannot remove orphan guest {}: {}", id, e.getMessage());
        }
      }
    }
    removeLeftovers();
  }

  /** What the journal says the instance started from and keeps of its disk. */
  private void restoreKept(TrackedInstance tracked, JournalEntry entry) {
    synchronized (tracked) {
      tracked.startedFrom = entry.startedFrom();
      tracked.keep = entry.keep();
      if (entry.keptDisk() != null || entry.keptImage() != null) {
        tracked.kept =
            new KeptDisk(
                entry.keptDisk() == null ? null : Path.of(entry.keptDisk()), entry.keptImage());
      }
      if (backends.get(entry.instance().type()) instanceof KeepsGuestDisk keeper) {
        tracked.keeper = keeper;
      }
      if (tracked.keep && tracked.state() != InstanceState.STOPPED) {
        // An adopted guest is kept at its end as the start asked.
        tracked.options = new StartOptions(null, null, new KeepHook(tracked));
      }
    }
  }

  /** Caller holds the lock. */
  private void adopt(TrackedInstance tracked) {
    String id = tracked.id();
    int port = tracked.snapshot().tftpPort();
    try {
      tracked.server =
          tftp.adopt(
              tracked.tftpDir, port, tracked.revision.manifest(), lifecycle.uploads(tracked));
    } catch (IOException | RuntimeException e) {
      // Keep the port held anyway: the guest knows only this one, no other instance may get it.
      tftp.pool().hold(port);
      LOG.error(
          "reconcile: instance {} keeps running without its TFTP server: port {}: {}",
          id,
          port,
          e.getMessage());
    }
    try {
      LaunchSpec spec = new LaunchSpec(id, tracked.revision, tracked.instanceDir, port);
      tracked.spec = spec;
      tracked.guest =
          backends.get(tracked.snapshot().type()).adopt(spec, lifecycle.listenerFor(tracked));
    } catch (BackendException | RuntimeException e) {
      lifecycle.endAtReconcile(
          tracked, "its guest could not be adopted: " + InstanceManager.describe(e));
      return;
    }
    Instance recorded = tracked.snapshot();
    lifecycle.adopted(tracked);
    LOG.info(
        "reconcile: adopted instance {} ({} {}, {}, TFTP port {})",
        id,
        recorded.machine(),
        recorded.revision(),
        tracked.state(),
        port);
    lifecycle.armTimeout(tracked);
    if (recorded.state() == InstanceState.STOPPING) {
      EndReason requested = tracked.life.requestedReason();
      if (requested == null) {
        lifecycle.resumeShutdown(tracked);
      } else {
        lifecycle.kill(tracked, requested);
      }
    }
  }

  /**
   * Overlays of instances that no longer run, and folders that no record claims, are deleted; the
   * folders of an instance whose record is unreadable are kept: it is registered as UNKNOWN (its
   * upload may be all there is).
   */
  private void removeLeftovers() throws IOException {
    try (var dirs = Files.newDirectoryStream(config.instancesDir())) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString();
        TrackedInstance tracked = registry.get(name);
        if (tracked == null) {
          if (InstanceRegistry.ID_SHAPE.matcher(name).matches()
              && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            InstanceFiles.deleteTree(dir);
            InstanceFiles.deleteTree(config.tftpDir().resolve(name));
            LOG.info("reconcile: removed folders of {}: no journal record claims them", name);
          }
        } else if (tracked.state() == InstanceState.STOPPED
            && Files.deleteIfExists(LaunchSpec.overlayDisk(dir))) {
          LOG.info("reconcile: removed the overlay disk of stopped instance {}", name);
        }
      }
    }
  }
}
