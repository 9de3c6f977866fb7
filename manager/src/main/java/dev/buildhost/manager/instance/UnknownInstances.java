package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.journal.Journal;
import dev.buildhost.manager.journal.UnreadableRecord;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Instances whose journal record cannot be read: they are shown as UNKNOWN, and nothing of theirs
 * is destroyed until an operator says so. Their guest runs on, their folders stay, and the TFTP
 * port the damaged record still names stays held (served while a guest may upload to it), so that
 * no new instance gets it. {@code terminate} ends the guest found by the instance's id; {@code
 * delete} removes the guest, the folders and the damaged record, and frees the port.
 */
final class UnknownInstances {
  private static final Logger LOG = LoggerFactory.getLogger(UnknownInstances.class);

  /** The machine and creation time an id made by {@link InstanceRegistry} carries. */
  private static final Pattern ID_PARTS =
      Pattern.compile("(?<machine>.+)-(?<time>\\d{8}-\\d{6})-[0-9a-f]{4}");

  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final ManagerConfig config;
  private final Map<MachineType, InstanceBackend> backends;
  private final Journal journal;
  private final InstanceRegistry registry;
  private final InstanceTftpServers tftp;
  private final InstanceLifecycle lifecycle;

  UnknownInstances(
      ManagerConfig config,
      Map<MachineType, InstanceBackend> backends,
      Journal journal,
      InstanceRegistry registry,
      InstanceTftpServers tftp,
      InstanceLifecycle lifecycle) {
    this.config = config;
    this.backends = backends;
    this.journal = journal;
    this.registry = registry;
    this.tftp = tftp;
    this.lifecycle = lifecycle;
  }

  /**
   * Registers the instance of an unreadable record as UNKNOWN, at open. {@code live} are the guests
   * the backends reported; the one with the record's id, if any, is taken out of it (it is no
   * orphan).
   */
  void register(UnreadableRecord bad, Map<MachineType, Set<String>> live) {
    String id = bad.id();
    MachineType guestType = null;
    for (Map.Entry<MachineType, Set<String>> guests : live.entrySet()) {
      if (guests.getValue().remove(id)) {
        guestType = guests.getKey();
      }
    }
    Matcher parts = ID_PARTS.matcher(id);
    String machine =
        bad.machine() != null ? bad.machine() : parts.matches() ? parts.group(1) : null;
    Instant createdAt = bad.createdAt() != null ? bad.createdAt() : createdAt(parts, bad.file());
    Instant guestGoneAt = guestType == null ? lifecycle.clock().instant() : null;
    TrackedInstance tracked =
        new TrackedInstance(
            new Lifecycle.State(
                Instance.unknown(
                    id,
                    machine,
                    bad.revision(),
                    guestType,
                    bad.tftpPort(),
                    createdAt,
                    guestGoneAt,
                    null),
                null),
            null,
            config.tftpDir().resolve(id),
            config.instancesDir().resolve(id),
            null);
    tracked.unknownGuestType = guestType;
    tracked.unreadable = bad;
    synchronized (tracked) {
      PortOutcome port = holdPort(tracked, bad.tftpPort());
      String guest =
          guestType == null
              ? "no guest with its id runs"
              : "its " + guestType.manifestValue() + " guest runs on, left alone";
      Instance instance = tracked.snapshot();
      if (!port.held()) {
        instance = instance.withTftpPort(0); // what delete frees must be its own
      }
      tracked.life =
          new Lifecycle.State(
              instance.guestGone(guestGoneAt, message(bad, guest + "; " + port.said())), null);
    }
    registry.add(tracked);
    LOG.error("reconcile: instance {} is UNKNOWN: {}", id, tracked.snapshot().message());
  }

  private record PortOutcome(boolean held, String said) {}

  /**
   * Holds the port the record names, and serves the folder on it while a guest may upload; says
   * what became of it.
   */
  private PortOutcome holdPort(TrackedInstance tracked, int port) {
    if (port <= 0) {
      return new PortOutcome(
          false, "its TFTP port cannot be made out of the record, so none is held for it");
    }
    if (!tftp.pool().hold(port)) {
      return new PortOutcome(
          false,
          "TFTP port "
              + port
              + " it names is outside the instance port range or held by another instance");
    }
    if (tracked.unknownGuestType != null) {
      try {
        tracked.server = tftp.adopt(tracked.tftpDir, port, lifecycle.uploads(tracked));
        return new PortOutcome(true, "its folder is served on TFTP port " + port + " as before");
      } catch (IOException | RuntimeException e) {
        LOG.warn("instance {}: cannot serve TFTP port {}: {}", tracked.id(), port, e.getMessage());
      }
    }
    return new PortOutcome(true, "TFTP port " + port + " is held for it");
  }

  private static String message(UnreadableRecord bad, String state) {
    return "its journal record "
        + bad.file()
        + " cannot be read: "
        + bad.problem()
        + "; "
        + state
        + ". 'buildhost terminate' ends its guest; 'buildhost delete' removes guest, folders and"
        + " record";
  }

  private static Instant createdAt(Matcher parts, Path file) {
    if (parts.matches()) {
      try {
        return LocalDateTime.parse(parts.group("time"), ID_TIME).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e) {
        // not a time after all: the file's date below
      }
    }
    try {
      return Files.getLastModifiedTime(file).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }

  /**
   * Caller holds the lock. Ends the guest with the instance's id, wherever one is found; the
   * instance stays UNKNOWN, its guest gone, its folders and port kept until it is deleted.
   */
  Instance terminate(TrackedInstance tracked) {
    endGuest(tracked);
    Instance instance = tracked.snapshot();
    Instant goneAt =
        instance.stoppedAt() != null ? instance.stoppedAt() : lifecycle.clock().instant();
    tracked.life =
        new Lifecycle.State(
            instance.guestGone(
                goneAt,
                message(
                    tracked.unreadable,
                    "no guest with its id runs (terminated); its folders and TFTP port are kept")),
            null);
    LOG.info("instance {} (UNKNOWN): terminated", tracked.id());
    return tracked.snapshot();
  }

  /** Caller holds the lock. Removes guest, folders and the damaged record, and frees the port. */
  void delete(TrackedInstance tracked) {
    String id = tracked.id();
    endGuest(tracked);
    InstanceFiles.deleteFolders(tracked);
    journal.delete(id);
    lifecycle.releaseTftp(tracked);
    tracked.deleted = true;
    registry.remove(id);
    LOG.info("instance {} (UNKNOWN): deleted with its guest, folders and damaged record", id);
    lifecycle.publish(InstanceEvent.Kind.DELETED, tracked.snapshot(), null);
  }

  /** Removes the guest with the id from every backend that has one; a backend failure is thrown. */
  private void endGuest(TrackedInstance tracked) {
    String id = tracked.id();
    for (InstanceBackend backend : backends.values()) {
      try {
        if (backend.ourInstanceIds().contains(id)) {
          backend.removeOrphan(id);
          LOG.info("instance {} (UNKNOWN): its {} guest is ended", id, backend.type());
        }
      } catch (BackendException | RuntimeException e) {
        throw new ManagerException(
            ManagerException.Kind.BACKEND_FAILED,
            "cannot end the "
                + backend.type().manifestValue()
                + " guest of instance "
                + id
                + ": "
                + InstanceManager.describe(e),
            e);
      }
    }
    tracked.unknownGuestType = null;
  }
}
