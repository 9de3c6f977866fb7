package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.model.ManagerException;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The instances the manager knows, their ids and the capacity they take: a start gets a slot and an
 * id here or is refused with NO_CAPACITY. The lock over ids and capacity is shared with the {@link
 * PreparedLaunches}, whose ids must not be handed out twice either.
 */
final class InstanceRegistry {
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
  private static final Pattern ID_CHARS = Pattern.compile("[^A-Za-z0-9_.-]");

  /** Instance folder names as {@link #newId} makes them; reconciliation touches no other folder. */
  static final Pattern ID_SHAPE = Pattern.compile("[A-Za-z0-9_.-]+-\\d{8}-\\d{6}-[0-9a-f]{4}");

  private final ManagerConfig config;
  private final Clock clock;
  private final Map<String, TrackedInstance> instances = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  private final SecureRandom random = new SecureRandom();
  private PreparedLaunches prepared;

  InstanceRegistry(ManagerConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  /** The lock over ids and capacity. */
  Object lock() {
    return lock;
  }

  /** Where ids reserved for prepared launches are kept (set once, before the first start). */
  void preparedLaunches(PreparedLaunches prepared) {
    this.prepared = prepared;
  }

  /**
   * Takes a capacity slot and an id (the prepared launch's, when there is one for the revision),
   * and registers the instance as STARTING; or refuses with NO_CAPACITY.
   */
  TrackedInstance reserve(Revision revision, Duration timeout) {
    long ram = LaunchSpec.ramMib(revision);
    synchronized (lock) {
      int running = 0;
      long ramInUse = 0;
      for (TrackedInstance tracked : instances.values()) {
        if (tracked.takesCapacity()) {
          running++;
          // An UNKNOWN instance's revision is unknown: it takes a slot, and no RAM it could name.
          ramInUse += tracked.revision == null ? 0 : LaunchSpec.ramMib(tracked.revision);
        }
      }
      if (running >= config.maxInstances()) {
        throw new ManagerException(
            ManagerException.Kind.NO_CAPACITY,
            "all "
                + config.maxInstances()
                + " instance slots are in use (max-instances); wait for an instance to end, or raise max-instances");
      }
      if (ramInUse + ram > config.ramBudgetMib()) {
        throw new ManagerException(
            ManagerException.Kind.NO_CAPACITY,
            "machine "
                + revision.machine()
                + " needs "
                + ram
                + " MiB of RAM but only "
                + (config.ramBudgetMib() - ramInUse)
                + " of the "
                + config.ramBudgetMib()
                + " MiB budget are free (ram-budget); wait for an instance to end, or raise ram-budget");
      }
      LaunchSpec ahead = prepared.take(revision);
      String id = ahead != null ? ahead.instanceId() : newId(revision.machine());
      Instant now = clock.instant();
      Instance snapshot =
          Instance.starting(
              id, revision.machine(), revision.version(), revision.manifest().type(), now);
      TrackedInstance tracked =
          new TrackedInstance(
              new Lifecycle.State(snapshot, null),
              revision,
              config.tftpDir().resolve(id),
              config.instancesDir().resolve(id),
              now.plus(timeout));
      tracked.preparedPort = ahead != null ? ahead.tftpPort() : 0;
      instances.put(id, tracked);
      return tracked;
    }
  }

  /**
   * The spec of a new instance of a revision on a port: a fresh id and its folder. Caller holds the
   * lock.
   */
  LaunchSpec newSpec(Revision revision, int port) {
    String id = newId(revision.machine());
    return new LaunchSpec(id, revision, config.instancesDir().resolve(id), port);
  }

  /**
   * {@code <machine>-<yyyyMMdd-HHmmss>-<4 hex>}: sortable, unique, safe as a file and domain name.
   */
  private String newId(String machine) {
    String base = ID_CHARS.matcher(machine).replaceAll("-");
    if (base.length() > 64) {
      base = base.substring(0, 64);
    }
    base = base + "-" + ID_TIME.format(clock.instant()) + "-";
    for (int attempt = 0; ; attempt++) {
      String id = base + String.format("%04x", random.nextInt(0x10000));
      if (!instances.containsKey(id)
          && !prepared.reserves(id)
          && !Files.exists(config.instancesDir().resolve(id))
          && !Files.exists(config.tftpDir().resolve(id))) {
        return id;
      }
      if (attempt > 1000) {
        throw new IllegalStateException("cannot find a free instance id for " + machine);
      }
    }
  }

  /** Registers an instance found in the journal. */
  void add(TrackedInstance tracked) {
    instances.put(tracked.id(), tracked);
  }

  void remove(String id) {
    instances.remove(id);
  }

  TrackedInstance get(String id) {
    return id == null ? null : instances.get(id);
  }

  /** The instance, or NOT_FOUND naming how to list them. */
  TrackedInstance find(String id) {
    TrackedInstance tracked = get(id);
    if (tracked == null) {
      throw new ManagerException(
          ManagerException.Kind.NOT_FOUND,
          "no instance '" + id + "'; 'buildhost instances' (GET /v1/instances) lists them");
    }
    return tracked;
  }

  Collection<TrackedInstance> all() {
    return instances.values();
  }

  /** Snapshots of every instance, oldest first. */
  List<Instance> snapshots() {
    List<Instance> result = new ArrayList<>();
    for (TrackedInstance tracked : instances.values()) {
      result.add(tracked.snapshot());
    }
    result.sort(Comparator.comparing(Instance::createdAt).thenComparing(Instance::id));
    return result;
  }
}
