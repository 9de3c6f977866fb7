package dev.buildhost.manager.bootstrap;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.StartLayer;
import dev.buildhost.manager.instance.EndHook;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.instance.StartOptions;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bootstrapped states: a bootstrap instance of a machine's revision in service runs the worker in
 * bootstrap mode; when it succeeds its disk (a VM's overlay, a container committed to an image) is
 * published as the state of (revision, toolchain name and id), and later starts of the machine run
 * on top of it. A failed, timed-out, terminated or crashed bootstrap publishes nothing and leaves
 * nothing.
 *
 * <p>A state is current while its revision is in service and its toolchain id is the toolchain's id
 * now; otherwise it is stale, and stale states are removed once no instance runs on them (after
 * every start and bootstrap, and on {@link #prune}).
 */
public final class Bootstraps {
  private static final Logger LOG = LoggerFactory.getLogger(Bootstraps.class);

  /** Image labels of a committed bootstrap container. */
  static final String LABEL_TOOLCHAIN = "dev.buildhost.toolchain";

  static final String LABEL_TOOLCHAIN_ID = "dev.buildhost.toolchain-id";

  private final InstanceManager manager;
  private final MachineLibrary library;
  private final Toolchains toolchains;
  private final StateStore store;
  private final List<KeepsGuestDisk> keepers;
  private final Clock clock;

  /**
   * @param keepers the backends that keep disks (they remove the images of removed states)
   */
  public Bootstraps(
      InstanceManager manager,
      MachineLibrary library,
      Toolchains toolchains,
      StateStore store,
      Collection<KeepsGuestDisk> keepers,
      Clock clock) {
    this.manager = manager;
    this.library = library;
    this.toolchains = toolchains;
    this.store = store;
    this.keepers = List.copyOf(keepers);
    this.clock = clock;
  }

  public Toolchains toolchains() {
    return toolchains;
  }

  public StateStore store() {
    return store;
  }

  /**
   * A state with what it is now.
   *
   * @param stored the state and its folder
   * @param current whether new starts of its machine use it
   * @param inUse instances running on it
   */
  public record StateInfo(StateStore.Stored stored, boolean current, List<String> inUse) {
    public BootstrappedState state() {
      return stored.state();
    }
  }

  /**
   * Starts a bootstrap instance of the machine's revision in service for a toolchain (null: the
   * host's only one). Its end publishes the state, or nothing.
   */
  public Instance bootstrap(StartRequest request) {
    if (request.machine() == null || request.machine().isBlank()) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST, "name the machine to bootstrap");
    }
    Toolchain toolchain = toolchains.choose(request.toolchain());
    Revision revision = library.inService(request.machine());
    String key =
        revision.machine() + " " + revision.version() + " for toolchain " + toolchain.name();
    LOG.info("bootstrap of {} (toolchain id {}) starting", key, toolchain.id());
    return manager.start(
        request, new StartOptions(revision, null, end -> published(end, revision, toolchain)));
  }

  /** A start of a machine, on its bootstrapped state as the request's mode says. */
  public Instance start(StartRequest request) {
    if (request.bootstrapped() == BootstrappedMode.NEVER
        || request.machine() == null
        || request.machine().isBlank()) {
      return manager.start(request);
    }
    Revision revision = library.inService(request.machine());
    Toolchain toolchain;
    if (request.bootstrapped() == BootstrappedMode.AUTO && request.toolchain() == null) {
      toolchain = onlyCandidate(revision);
    } else {
      toolchain = toolchains.choose(request.toolchain());
    }
    StateStore.Stored stored =
        toolchain == null
            ? null
            : store.find(revision.machine(), revision.version(), toolchain.name(), toolchain.id());
    if (stored == null) {
      if (request.bootstrapped() == BootstrappedMode.REQUIRED) {
        throw new ManagerException(
            ManagerException.Kind.CONFLICT,
            "machine "
                + revision.machine()
                + " "
                + revision.version()
                + " has no bootstrapped state for toolchain "
                + toolchain.name()
                + " (id "
                + toolchain.id()
                + "): bootstrap it first (POST /v1/machines/"
                + revision.machine()
                + "/bootstrap, or `buildhost bootstrap "
                + revision.machine()
                + "`)");
      }
      Instance plain = manager.start(request, new StartOptions(revision, null, null));
      removeUnusedStale();
      return plain;
    }
    BootstrappedState state = stored.state();
    StartLayer layer = new StartLayer(state.id(), stored.diskPath(), state.image());
    Instance instance = manager.start(request, new StartOptions(revision, layer, null));
    LOG.info("instance {}: started from bootstrapped state {}", instance.id(), state.id());
    removeUnusedStale();
    return instance;
  }

  /**
   * The toolchain whose state an {@code auto} start naming none uses: the host's only toolchain;
   * with several, none when the revision has a state for none of them (the bare revision is then
   * what any choice would start), and a refusal naming them when it has one, since picking one
   * silently could run a build on the wrong toolchain.
   */
  private Toolchain onlyCandidate(Revision revision) {
    Map<String, Toolchain> current = toolchains.current();
    if (current.size() <= 1) {
      return current.isEmpty() ? null : current.values().iterator().next();
    }
    List<String> withState =
        current.values().stream()
            .filter(
                t -> store.find(revision.machine(), revision.version(), t.name(), t.id()) != null)
            .map(Toolchain::name)
            .toList();
    if (withState.isEmpty()) {
      return null;
    }
    throw new ManagerException(
        ManagerException.Kind.BAD_REQUEST,
        "this host has several toolchains ("
            + String.join(", ", current.keySet())
            + ") and machine "
            + revision.machine()
            + " "
            + revision.version()
            + " has bootstrapped states for "
            + String.join(", ", withState)
            + ": name the toolchain to start on ('toolchain', `--toolchain`), or ask for the bare"
            + " revision ('bootstrapped: never')");
  }

  /**
   * The bytes the bootstrapped states take: their files (VM layers, result manifests) and the
   * images containers were committed to.
   */
  public long diskUse() {
    long total = store.diskUse();
    for (StateStore.Stored stored : store.list()) {
      String image = stored.state().image();
      if (image != null) {
        for (KeepsGuestDisk keeper : keepers) {
          total += keeper.imageBytes(image);
        }
      }
    }
    return total;
  }

  /** Every published state with whether it is current and who uses it. */
  public List<StateInfo> states() {
    Map<String, Toolchain> current = toolchains.current();
    Map<String, String> running = manager.startedFrom();
    List<StateInfo> infos = new ArrayList<>();
    for (StateStore.Stored stored : store.list()) {
      BootstrappedState state = stored.state();
      List<String> users =
          running.entrySet().stream()
              .filter(e -> e.getValue().equals(state.id()))
              .map(Map.Entry::getKey)
              .toList();
      infos.add(new StateInfo(stored, isCurrent(state, current), users));
    }
    return infos;
  }

  /** The states of one machine. */
  public List<StateInfo> states(String machine) {
    return states().stream().filter(s -> s.state().machine().equals(machine)).toList();
  }

  /**
   * Removes the stale states no instance runs on; returns their ids. Current states stay, and so do
   * stale ones in use (they go once their last instance ended).
   */
  public synchronized List<String> prune() {
    List<String> removed = new ArrayList<>();
    for (StateInfo info : states()) {
      if (info.current() || !info.inUse().isEmpty()) {
        continue;
      }
      try {
        store.remove(info.stored());
        discardImage(info.state());
        removed.add(info.state().id());
      } catch (IOException e) {
        LOG.warn("cannot remove bootstrapped state {}: {}", info.state().id(), e.toString());
      }
    }
    return removed;
  }

  /**
   * After a restart: removes half-made states, and committed images that neither a published state
   * nor a kept instance names (the daemon died between the commit and the publish).
   */
  public void reconcile() {
    int leftovers = store.reconcile();
    Set<String> images = new HashSet<>();
    store.list().forEach(s -> images.add(s.state().image()));
    images.addAll(manager.keptImages()); // instances started with keep, until they are deleted
    for (KeepsGuestDisk keeper : keepers) {
      leftovers += keeper.removeKeptExcept(images).size();
    }
    if (leftovers > 0) {
      LOG.info("reconcile: removed {} leftover(s) of unfinished bootstraps", leftovers);
    }
  }

  private void removeUnusedStale() {
    try {
      List<String> removed = prune();
      if (!removed.isEmpty()) {
        LOG.info("removed stale bootstrapped states no instance uses: {}", removed);
      }
    } catch (RuntimeException e) {
      LOG.warn("cannot remove stale bootstrapped states: {}", e.toString());
    }
  }

  private void discardImage(BootstrappedState state) {
    if (state.image() != null) {
      for (KeepsGuestDisk keeper : keepers) {
        keeper.discard(new KeptDisk(null, state.image()));
      }
    }
  }

  private boolean isCurrent(BootstrappedState state, Map<String, Toolchain> current) {
    Toolchain toolchain = current.get(state.toolchain());
    if (toolchain == null || !toolchain.id().equals(state.toolchainId())) {
      return false;
    }
    try {
      return library.inService(state.machine()).version().equals(state.version());
    } catch (ManagerException e) {
      return false;
    }
  }

  /** The end of a bootstrap instance: its disk becomes the state, or nothing is kept. */
  private String published(EndHook.GuestEnd end, Revision revision, Toolchain toolchain) {
    LaunchSpec spec = end.spec();
    String id = spec.instanceId();
    MachineType type = revision.manifest().type();
    String failure = BootstrapResult.failure(end, type);
    if (failure != null) {
      LOG.info("bootstrap {}: failed ({}); nothing published", id, failure);
      return "bootstrap failed: " + failure + "; nothing published";
    }
    if (end.keeper() == null) {
      return "bootstrap succeeded, but the " + type.manifestValue() + " backend cannot keep disks";
    }
    Path staging = null;
    KeptDisk kept = null;
    try {
      staging = store.staging(id);
      kept =
          end.keeper()
              .keep(
                  spec,
                  staging,
                  Map.of(
                      "dev.buildhost.machine",
                      revision.machine(),
                      "dev.buildhost.revision",
                      revision.version(),
                      LABEL_TOOLCHAIN,
                      toolchain.name(),
                      LABEL_TOOLCHAIN_ID,
                      toolchain.id()));
      Path result = end.tftpDir().resolve(BootstrapResult.RESULT_FILE);
      if (Files.isRegularFile(result)) {
        Files.copy(
            result,
            staging.resolve(BootstrapResult.RESULT_FILE),
            StandardCopyOption.REPLACE_EXISTING);
      }
      BootstrappedState state =
          new BootstrappedState(
              revision.machine(),
              revision.version(),
              revision.dir().toString(),
              type.manifestValue(),
              toolchain.name(),
              toolchain.id(),
              id,
              clock.instant(),
              kept.disk() == null ? null : kept.disk().getFileName().toString(),
              kept.image());
      if (!store.publish(staging, state)) {
        end.keeper().discard(kept);
        store.discardStaging(staging);
        LOG.info("bootstrap {}: another bootstrap published {} first", id, state.id());
        return "bootstrap succeeded, but another bootstrap published "
            + state.id()
            + " first; this one is discarded";
      }
      return "bootstrap published as " + state.id();
    } catch (BackendException | IOException | RuntimeException e) {
      if (kept != null) {
        end.keeper().discard(kept);
      }
      if (staging != null) {
        store.discardStaging(staging);
      }
      LOG.error("bootstrap {}: cannot publish its state: {}", id, e.toString());
      return "bootstrap succeeded, but its state cannot be published: " + e.getMessage();
    }
  }
}
