package dev.buildhost.manager.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.HostConfig;
import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.backend.PreparesAhead;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.ContainerAddressing;
import dev.buildhost.manager.network.GuestNamespace;
import dev.buildhost.manager.network.NetworkException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the instances of {@code type: docker} machines as containers of the Docker engine at {@link
 * ManagerConfig#dockerHost()}. It only launches, observes, stops and removes containers (and loads
 * their images through {@link ImageLoader}); capacity, ids, ports, timeouts and the poweroff grace
 * period belong to the instance lifecycle that drives it.
 *
 * <p>A container: name {@code buildhost-<instanceId>}; labels {@value #LABEL_INSTANCE}, {@value
 * #LABEL_MACHINE}, {@value #LABEL_REVISION} and {@value #LABEL_ROOT} (the manager's root folder, so
 * two managers sharing an engine leave each other's containers alone); memory limit {@code
 * ram-maximum}, else {@code ram-minimum} (no swap beyond it); CPU limit {@code cpus} (capped at the
 * engine's CPU count); the hardening of {@link ContainerHardening}; Docker's init as PID 1, so the
 * command gets signals and its exit code becomes the container's; the manifest {@code command}
 * split into words (see {@link CommandLine}) or else the image's own command.
 *
 * <p>Its network: with a {@link BridgeNetwork}, network mode {@code none} (no host network), then,
 * once the engine has started the process, a veth of the bridge moved into its namespace (found by
 * the process's PID) and addressed there, and env {@code BUILDHOST_TFTP=<host address>:69}, where
 * the guest's own TFTP server answers; the veth, its rules and its DHCP entry go when the container
 * is removed. Without one (the fallback), network mode {@link ManagerConfig#dockerNetworkMode()}
 * and {@code BUILDHOST_TFTP=127.0.0.1:<port>}.
 *
 * <p>States come from one Docker event stream ({@link ContainerEvents}), not from polling.
 *
 * <p>A container can be {@linkplain #prepare prepared}: created ahead for an instance id the
 * lifecycle reserved, so that the launch only starts it. The launch checks it against the plan the
 * spec gives at that moment (the image may have changed since) and replaces it if it differs.
 */
public final class DockerBackend implements InstanceBackend, PreparesAhead, KeepsGuestDisk {

  public static final String LABEL_INSTANCE = "dev.buildhost.instance";
  public static final String LABEL_MACHINE = "dev.buildhost.machine";
  public static final String LABEL_REVISION = "dev.buildhost.revision";
  public static final String LABEL_ROOT = "dev.buildhost.root";
  public static final String NAME_PREFIX = "buildhost-";

  private static final Logger LOG = LoggerFactory.getLogger(DockerBackend.class);

  private final ManagerConfig config;
  private final Optional<BridgeNetwork> bridge;
  private final String root;
  private final DockerConnection engine;
  private final ImageLoader images;
  private final ExecutorService executor;
  private final ScheduledExecutorService scheduler;
  private final ContainerEvents events;
  private final ContainerCommit commits;
  private final ContainerRemovals removals;

  /** The name of a published revision's image archive, as the sample machines name theirs. */
  private static final String IMAGE_ARCHIVE = "image.tar";

  /** Tracked guests by container id. */
  private final Map<String, ContainerGuest> guests = new ConcurrentHashMap<>();

  /** Containers created by {@link #prepare}, not started yet, by instance id. */
  private final Map<String, Created> prepared = new ConcurrentHashMap<>();

  private volatile Integer engineCpus;

  /** Containers in the fallback network mode (see {@link ManagerConfig#dockerNetworkMode()}). */
  public DockerBackend(ManagerConfig config) {
    this(config, Optional.empty(), message -> {});
  }

  /**
   * @param bridge the guest network each container gets a port of; empty for the fallback mode
   */
  public DockerBackend(ManagerConfig config, Optional<BridgeNetwork> bridge) {
    this(config, bridge, message -> {});
  }

  /**
   * @param progress receives image loading progress lines (the CLI prints them)
   */
  public DockerBackend(ManagerConfig config, Consumer<String> progress) {
    this(config, Optional.empty(), progress);
  }

  /**
   * @param bridge the guest network each container gets a port of; empty for the fallback mode
   * @param progress receives image loading progress lines (the CLI prints them)
   */
  public DockerBackend(
      ManagerConfig config, Optional<BridgeNetwork> bridge, Consumer<String> progress) {
    this.config = config;
    this.bridge = bridge;
    this.root = config.root().toAbsolutePath().normalize().toString();
    this.engine = new DockerConnection(config.dockerHost());
    this.images = new ImageLoader(engine, progress, config.stateDir().resolve("images"));
    this.executor = Executors.newCachedThreadPool(Threads.daemonFactory("buildhost-docker"));
    this.scheduler = Threads.timers("buildhost-docker-events");
    this.commits = new ContainerCommit(engine, root);
    this.removals = new ContainerRemovals(engine);
    this.events =
        new ContainerEvents(
            engine, Map.of(LABEL_ROOT, root), this::onEvent, this::resyncAll, scheduler);
  }

  /** {@code buildhost-<instanceId>}. */
  public static String containerName(String instanceId) {
    return NAME_PREFIX + instanceId;
  }

  @Override
  public MachineType type() {
    return MachineType.DOCKER;
  }

  /** The image loader, for the CLI's image commands (load ahead of time, show status). */
  public ImageLoader images() {
    return images;
  }

  @Override
  @SuppressWarnings(
      "ReferenceEquality") // container == ahead asks whether checkIn kept the prepared one
  public Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException {
    long began = System.nanoTime();
    DockerClient docker = engine.client();
    events.ensureStarted();
    Created ahead = prepared.remove(spec.instanceId());
    Created container = ahead == null ? null : checkIn(ahead, spec);
    if (container == null) {
      container = create(spec);
    }
    long created = System.nanoTime();
    ContainerGuest guest = track(spec, listener, container.id(), true);
    try {
      guest.openConsole(false);
      guest.attachConsole(docker);
      docker.startContainerCmd(container.id()).exec();
      attachNetwork(spec, container.id());
      long started = System.nanoTime();
      // Reported now rather than when the start event arrives.
      guest.startConfirmed();
      LOG.debug(
          "instance {}: {} {} ms, start {} ms",
          spec.instanceId(),
          container == ahead ? "prepared container checked in" : "container created in",
          (created - began) / 1_000_000,
          (started - created) / 1_000_000);
      if (removals.anyPending()) {
        executor.execute(removals::retry); // the engine answers again
      }
      return guest;
    } catch (NotFoundException e) {
      guest.release();
      if (container != ahead) {
        throw startFailure(e, spec);
      }
      // Removed since it was prepared (`docker container prune` removes containers never started).
      LOG.info("instance {}: its prepared container is gone; creating it again", spec.instanceId());
      return launch(spec, listener);
    } catch (BackendException e) {
      guest.release();
      throw e;
    } catch (NetworkException e) {
      guest.release();
      throw new BackendException(
          "cannot give the container of "
              + spec.revision().machine()
              + " "
              + spec.revision().version()
              + " its network port: "
              + e.getMessage(),
          e);
    } catch (RuntimeException | IOException e) {
      guest.release();
      throw startFailure(e, spec);
    }
  }

  /**
   * In bridge mode: the started container's veth, into the namespace of its process, addressed
   * statically (before the worker looks for its TFTP server, which it waits for). A process that
   * ended already needs no network: its end is reported as usual.
   */
  private void attachNetwork(LaunchSpec spec, String containerId)
      throws NetworkException, BackendException {
    if (bridge.isEmpty()) {
      return;
    }
    Long pid = processId(containerId);
    if (pid == null) {
      LOG.info("instance {}: ended before its network port was made", spec.instanceId());
      return;
    }
    Boolean nat = spec.revision().manifest().outboundNat();
    try {
      bridge
          .get()
          .attachContainer(
              spec.instanceId(),
              new GuestNamespace.OfProcess(pid),
              spec.tftpPort(),
              nat != null ? nat : bridge.get().settings().outboundNatDefault(),
              ContainerAddressing.STATIC);
    } catch (NetworkException e) {
      if (processId(containerId) == null) {
        LOG.info(
            "instance {}: ended while its network port was made ({})",
            spec.instanceId(),
            e.getMessage());
        return;
      }
      throw e;
    }
  }

  /** The PID of the container's process while it runs, else null. */
  private Long processId(String containerId) throws BackendException {
    InspectContainerResponse.ContainerState state =
        engine.client().inspectContainerCmd(containerId).exec().getState();
    Long pid = state.getPidLong();
    return Boolean.TRUE.equals(state.getRunning()) && pid != null && pid > 1 ? pid : null;
  }

  /** Removes the instance's veth, rules and DHCP entry (bridge mode); what is gone is fine. */
  private void detachNetwork(String instanceId) {
    if (bridge.isEmpty()) {
      return;
    }
    try {
      bridge.get().detach(instanceId);
    } catch (NetworkException | RuntimeException e) {
      LOG.warn("instance {}: cannot remove its network port: {}", instanceId, e.getMessage());
    }
  }

  private BackendException startFailure(Exception e, LaunchSpec spec) {
    String machine = spec.revision().machine() + " " + spec.revision().version();
    if (e instanceof IOException) {
      return new BackendException(
          "cannot write the console log " + spec.consoleLog() + ": " + e.getMessage(), e);
    }
    return engine.failure("cannot start the container of " + machine, e);
  }

  /** Creates the container ahead: {@link #launch} of the same spec then only starts it. */
  @Override
  public void prepare(LaunchSpec spec) throws BackendException {
    prepared.put(spec.instanceId(), create(spec));
  }

  @Override
  public void discardPrepared(String instanceId) {
    remove(prepared.remove(instanceId));
  }

  /**
   * Removes the images of deleted revisions that this root loaded (see {@link
   * ImageLoader#removeImagesExcept}); returns their tags.
   */
  @Override
  public List<String> removeLeftoversExcept(Set<RevisionName> left) throws BackendException {
    Set<String> tagsLeft = new HashSet<>();
    for (RevisionName revision : left) {
      try {
        tagsLeft.add(ImageLoader.tagFor(revision.machine(), revision.version()));
      } catch (BackendException e) {
        // a name no image can have: nothing of it was loaded
      }
    }
    return images.removeImagesExcept(tagsLeft);
  }

  /** A container created but not started, and the plan it was created from. */
  private record Created(String id, ContainerPlan plan) {}

  /** The prepared container if it is what the spec asks for now; else it is removed (null). */
  private Created checkIn(Created ahead, LaunchSpec spec) throws BackendException {
    ContainerPlan plan;
    try {
      plan = plan(spec, imageOf(spec));
    } catch (BackendException | RuntimeException e) {
      remove(ahead);
      throw e;
    }
    if (ahead.plan().equals(plan)) {
      return ahead;
    }
    remove(ahead);
    if (!ahead.plan().image().equals(plan.image())) {
      images.removeUnusedReplacedImages(); // the prepared container held on to the old image
    }
    return null;
  }

  private ContainerPlan plan(LaunchSpec spec, String image) throws BackendException {
    return ContainerPlan.of(
        spec,
        image,
        root,
        bridge.isPresent() ? "none" : config.dockerNetworkMode(),
        bridge
            .map(b -> b.settings().hostAddress().getHostAddress() + ":69")
            .orElse("127.0.0.1:" + spec.tftpPort()),
        spec.revision().manifest().cpus() == null ? 1 : engineCpus());
  }

  /** The committed image of the bootstrapped state the spec starts from, else the revision's. */
  private String imageOf(LaunchSpec spec) throws BackendException {
    return spec.layer() != null && spec.layer().image() != null
        ? spec.layer().image()
        : images.ensure(spec.revision());
  }

  @Override
  public KeptDisk keep(LaunchSpec spec, Path into, Map<String, String> labels)
      throws BackendException {
    return commits.commit(spec, labels);
  }

  @Override
  public void discard(KeptDisk kept) {
    if (kept.image() != null) {
      commits.remove(kept.image());
    }
  }

  @Override
  public String export(KeptDisk kept, Path folder) throws BackendException {
    if (kept.image() == null) {
      throw new BackendException("there is no kept container image to publish");
    }
    commits.save(kept.image(), folder.resolve(IMAGE_ARCHIVE));
    return IMAGE_ARCHIVE;
  }

  @Override
  public long imageBytes(String image) {
    return commits.size(image);
  }

  @Override
  public Set<String> removeKeptExcept(Set<String> inUse) {
    return commits.removeExcept(inUse);
  }

  /** Creates the instance's container, loading its image first when the engine lacks it. */
  private Created create(LaunchSpec spec) throws BackendException {
    Revision revision = spec.revision();
    String image = imageOf(spec);
    try {
      return create(spec, image);
    } catch (ImageGoneException e) {
      LOG.info(
          "instance {}: image {} is gone from the engine; loading it again",
          spec.instanceId(),
          image);
      images.forget(revision);
      return create(spec, images.ensure(revision));
    }
  }

  private Created create(LaunchSpec spec, String image) throws BackendException {
    Revision revision = spec.revision();
    String machine = revision.machine() + " " + revision.version();
    ContainerPlan plan = plan(spec, image);
    HostConfig host = HostConfig.newHostConfig().withNetworkMode(plan.networkMode()).withInit(true);
    ContainerHardening.apply(host, config.containerLimits().overriddenBy(revision.manifest()));
    if (plan.memoryBytes() != null) {
      host.withMemory(plan.memoryBytes()).withMemorySwap(plan.memoryBytes());
    }
    if (plan.nanoCpus() != null) {
      host.withNanoCPUs(plan.nanoCpus());
    }
    CreateContainerCmd create =
        engine
            .client()
            .createContainerCmd(plan.image())
            .withName(plan.name())
            .withLabels(plan.labels())
            .withEnv(plan.env())
            .withHostConfig(host);
    if (!plan.command().isEmpty()) {
      create.withEntrypoint(List.of()).withCmd(plan.command());
    }
    try {
      return new Created(create.exec().getId(), plan);
    } catch (NotFoundException e) {
      throw new ImageGoneException(
          "cannot create the container of " + machine + ": " + DockerConnection.engineMessage(e),
          e);
    } catch (ConflictException e) {
      throw new BackendException(
          "cannot create the container of "
              + machine
              + ": a container named "
              + plan.name()
              + " exists already",
          e);
    } catch (RuntimeException e) {
      String message = DockerConnection.engineMessage(e);
      if (message.contains("No command specified")) {
        throw new BackendException(
            "cannot create the container of "
                + machine
                + ": neither "
                + revision.dir().resolve("manifest")
                + " (no `command`) nor image "
                + image
                + " names a command to run",
            e);
      }
      throw engine.failure("cannot create the container of " + machine, e);
    }
  }

  /** The CPUs the engine has: a container cannot be given more. */
  private int engineCpus() throws BackendException {
    Integer cpus = engineCpus;
    if (cpus == null) {
      try {
        cpus = engine.client().infoCmd().exec().getNCPU();
      } catch (RuntimeException e) {
        throw engine.failure("cannot read the Docker engine's CPU count", e);
      }
      engineCpus = cpus = cpus == null || cpus < 1 ? 1 : cpus;
    }
    return cpus;
  }

  private ContainerGuest track(
      LaunchSpec spec, GuestListener listener, String containerId, boolean launching) {
    ConsoleCapture console = new ConsoleCapture(spec.consoleLog());
    ContainerGuest guest =
        new ContainerGuest(
            spec.instanceId(),
            containerId,
            engine,
            listener,
            console,
            removals,
            () -> guests.remove(containerId),
            () -> detachNetwork(spec.instanceId()),
            executor,
            launching);
    guests.put(containerId, guest);
    return guest;
  }

  private void onEvent(Event event) {
    String containerId =
        event.getId() != null
            ? event.getId()
            : event.getActor() == null ? null : event.getActor().getId();
    ContainerGuest guest = containerId == null ? null : guests.get(containerId);
    if (guest == null) {
      return;
    }
    String action = event.getAction() != null ? event.getAction() : event.getStatus();
    switch (action == null ? "" : action) {
      case "start" -> guest.started();
      case "oom" -> guest.outOfMemory();
      case "die" -> guest.died(exitCode(event));
      case "destroy" -> guest.vanished();
      default -> LOG.debug("ignored Docker event {}", event);
    }
  }

  private static Integer exitCode(Event event) {
    Map<String, String> attributes =
        event.getActor() == null ? null : event.getActor().getAttributes();
    String code = attributes == null ? null : attributes.get("exitCode");
    try {
      return code == null ? null : Integer.valueOf(code);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** After the event stream reconnected: what the guests missed, and the removals that failed. */
  private void resyncAll() {
    guests.values().forEach(ContainerGuest::resync);
    removals.retry();
  }

  @Override
  public Set<String> ourInstanceIds() throws BackendException {
    Set<String> ids = new TreeSet<>();
    for (Container container : ourContainers()) {
      String id = container.getLabels() == null ? null : container.getLabels().get(LABEL_INSTANCE);
      if (id != null) {
        ids.add(id);
      }
    }
    return ids;
  }

  private List<Container> ourContainers() throws BackendException {
    try {
      return engine
          .client()
          .listContainersCmd()
          .withShowAll(true)
          .withLabelFilter(Map.of(LABEL_ROOT, root))
          .exec();
    } catch (RuntimeException e) {
      throw engine.failure("cannot list containers", e);
    }
  }

  @Override
  public Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException {
    DockerClient docker = engine.client();
    events.ensureStarted();
    InspectContainerResponse container = inspectOurs(spec.instanceId());
    if (container == null) {
      throw new BackendException(
          "instance "
              + spec.instanceId()
              + " has no container "
              + containerName(spec.instanceId())
              + " to adopt");
    }
    ContainerGuest guest = track(spec, listener, container.getId(), false);
    try {
      guest.openConsole(true);
      guest.followConsole(docker);
    } catch (IOException | RuntimeException e) {
      LOG.warn(
          "instance {}: cannot capture its output again into {}: {}",
          spec.instanceId(),
          spec.consoleLog(),
          e.toString());
    }
    guest.resync();
    return guest;
  }

  /** The container of {@code instanceId} if it exists and belongs to this manager's root. */
  private InspectContainerResponse inspectOurs(String instanceId) throws BackendException {
    try {
      InspectContainerResponse container =
          engine.client().inspectContainerCmd(containerName(instanceId)).exec();
      Map<String, String> labels =
          container.getConfig() == null ? null : container.getConfig().getLabels();
      boolean ours =
          labels != null
              && root.equals(labels.get(LABEL_ROOT))
              && instanceId.equals(labels.get(LABEL_INSTANCE));
      return ours ? container : null;
    } catch (NotFoundException e) {
      return null;
    } catch (RuntimeException e) {
      throw engine.failure("cannot inspect container " + containerName(instanceId), e);
    }
  }

  @Override
  public void removeOrphan(String instanceId) throws BackendException {
    InspectContainerResponse container = inspectOurs(instanceId);
    if (container == null) {
      return;
    }
    ContainerGuest tracked = guests.remove(container.getId());
    if (tracked != null) {
      tracked.release();
      return;
    }
    detachNetwork(instanceId);
    try {
      engine
          .client()
          .removeContainerCmd(container.getId())
          .withForce(true)
          .withRemoveVolumes(true)
          .exec();
      LOG.info("removed orphan container {} of instance {}", containerName(instanceId), instanceId);
    } catch (NotFoundException e) {
      // gone already
    } catch (RuntimeException e) {
      throw engine.failure("cannot remove orphan container " + containerName(instanceId), e);
    }
  }

  /** Removes a container that was created and never started (a prepared one); null is none. */
  private void remove(Created container) {
    if (container == null) {
      return;
    }
    try {
      engine.client().removeContainerCmd(container.id()).withForce(true).exec();
    } catch (NotFoundException e) {
      // gone already
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot remove prepared container {}: {}", container.plan().name(), e.getMessage());
    }
  }

  @Override
  public void close() {
    prepared.keySet().forEach(this::discardPrepared);
    guests.values().forEach(ContainerGuest::detach);
    removals.close();
    events.close();
    scheduler.shutdownNow();
    executor.shutdown();
    engine.close();
  }

  /** Creating a container failed because its image is not in the engine (any more). */
  private static final class ImageGoneException extends BackendException {
    ImageGoneException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
