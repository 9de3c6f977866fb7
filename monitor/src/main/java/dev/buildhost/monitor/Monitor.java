package dev.buildhost.monitor;

import dev.buildhost.common.files.Trees;
import dev.buildhost.common.text.Texts;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.monitor.agent.Agent;
import dev.buildhost.monitor.agent.AgentException;
import dev.buildhost.monitor.agent.SupervisedAgent;
import dev.buildhost.monitor.agent.SystemdAgent;
import dev.buildhost.monitor.bootstrap.BootstrapException;
import dev.buildhost.monitor.bootstrap.Progress;
import dev.buildhost.monitor.bootstrap.ToolchainBootstrap;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Toolchain;
import dev.buildhost.monitor.daemon.DaemonClient;
import dev.buildhost.monitor.daemon.DaemonException;
import dev.buildhost.monitor.daemon.GuestRecords;
import dev.buildhost.monitor.daemon.HostDrainer;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.notify.Notifier;
import dev.buildhost.monitor.reboot.RebootOutcome;
import dev.buildhost.monitor.reboot.RebootSlot;
import dev.buildhost.monitor.reboot.Rebooter;
import dev.buildhost.monitor.state.HostInfo;
import dev.buildhost.monitor.state.MonitorState;
import dev.buildhost.monitor.state.StateStore;
import dev.buildhost.monitor.state.Uptime;
import dev.buildhost.monitor.tmpfs.TftpTmpfs;
import dev.buildhost.monitor.trust.ChecksumFileTrust;
import dev.buildhost.monitor.watch.Reading;
import dev.buildhost.monitor.watch.Watcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's life: mount the TFTP tmpfs (optional), bootstrap every configured toolchain and
 * start one agent per toolchain, then check the OS build-id and every toolchain's checksum file
 * every interval and reboot (through {@link Rebooter}) when any of them changed.
 *
 * <p>Baselines: a toolchain's baseline is the checksum file this run bootstrapped it from. The OS
 * baseline is the build-id recorded in {@code state.json} during this same boot (the kernel's boot
 * id tells), so a restarted monitor keeps it; after a reboot it is the first build-id fetched.
 */
public final class Monitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Monitor.class);

  /** The outcome of one check. */
  public enum Status {
    /** Everything watched was read and nothing changed. */
    UNCHANGED,
    /** Something could not be read; nothing changed that could be read; no reboot. */
    UNKNOWN,
    /** A change was seen and the reboot command ran. */
    REBOOTING,
    /** A change was seen but the rate cap forbade a reboot. */
    REFUSED,
    /** A change was seen but the reboot command failed. */
    REBOOT_FAILED
  }

  /** One check's outcome with the sentence logged for it. */
  public record CheckResult(Status status, String message) {}

  private final MonitorConfig cfg;
  private final Clock clock;
  private final StateStore store;
  private final Watcher watcher;
  private final List<ServedToolchain> toolchains = new ArrayList<>();
  private final Notifier notifier;
  private final HostDrainer drainer;
  private final Rebooter rebooter;
  private final String bootId;
  private final Fleet fleet;
  private final RebootSemaphore semaphore;
  private final RebootSlot slot;
  private final Duration apiTimeout;
  private MonitorState state;

  /** Whether the last {@link #prepare()} found every toolchain bootstrapped and agent started. */
  private boolean prepared;

  /** The one agent of a host that serves no toolchain, or null. */
  private Agent hostAgent;

  private boolean hostAgentStarted;

  public Monitor(MonitorConfig cfg) {
    this(cfg, Clock.systemUTC(), HostInfo.BOOT_ID, Progress.forConsole());
  }

  public Monitor(MonitorConfig cfg, Clock clock, Path bootIdFile, ProgressListener progress) {
    this(cfg, clock, bootIdFile, progress, Uptime.proc());
  }

  /**
   * @param bootIdFile where the kernel's boot id is read (tests point it elsewhere)
   * @param progress how downloads show progress
   * @param uptime time since boot, which the reboot rate cap measures with (tests drive it)
   */
  public Monitor(
      MonitorConfig cfg, Clock clock, Path bootIdFile, ProgressListener progress, Uptime uptime) {
    this.cfg = cfg;
    this.clock = clock;
    this.store = new StateStore(cfg.monitorStateDir());
    HttpFetcher fetcher = new HttpFetcher(cfg.connectTimeout(), cfg.fetchTimeout());
    this.watcher = new Watcher(fetcher, cfg.maxChecksumFileSize());
    for (Toolchain t : cfg.toolchains()) {
      toolchains.add(
          new ServedToolchain(
              t,
              new ToolchainBootstrap(cfg, t, fetcher, progress, clock),
              t.trustedKey() == null
                  ? null
                  : new ChecksumFileTrust(t.trustedKey(), fetcher, clock)));
    }
    this.notifier = new Notifier(cfg);
    this.apiTimeout =
        cfg.connectTimeout().compareTo(Duration.ofSeconds(30)) < 0
            ? cfg.connectTimeout()
            : Duration.ofSeconds(30);
    this.drainer =
        new HostDrainer(
            () -> DaemonClient.locate(cfg, apiTimeout).orElse(null),
            new GuestRecords(cfg.stateDir(), cfg.daemonUrl() != null));
    this.bootId = HostInfo.bootId(bootIdFile);
    FleetSettings fs = cfg.fleet();
    this.fleet = fs == null ? null : Fleet.connect(fs);
    this.semaphore = fleet == null ? null : new RebootSemaphore(fleet, clock);
    this.slot =
        new RebootSlot(
            semaphore,
            fs == null ? MonitorConfig.hostName() : fs.host(),
            bootId,
            cfg.drainTimeout(),
            notifier);
    this.rebooter = new Rebooter(cfg, store, drainer, notifier, clock, bootId, uptime, slot);
  }

  /** Toolchain {@code name} as this run published it, or null (not yet, or no such toolchain). */
  public ToolchainBootstrap.Published published(String name) {
    return served(name).map(t -> t.published).orElse(null);
  }

  /**
   * The agent started for toolchain {@code name}, or with a null name the agent of a host that
   * serves no toolchain; null when none was started.
   */
  public Agent agent(String name) {
    return name == null ? hostAgent : served(name).map(t -> t.agent).orElse(null);
  }

  private Optional<ServedToolchain> served(String name) {
    return toolchains.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The OS build-id baseline, or null while unknown. */
  public String buildIdBaseline() {
    return state == null ? null : state.buildId();
  }

  /**
   * Bootstrap and then checks every interval until a reboot command ran (returns 0) or the thread
   * is interrupted; with {@code once}, bootstrap and one check.
   *
   * @return the exit status: 0 fine or rebooting, 1 bootstrap/agent/reboot failure, 3 check unknown
   *     (once), 4 reboot refused by the cap (once)
   */
  public int run(boolean once) throws InterruptedException {
    start();
    boolean ready = prepare();
    if (once) {
      CheckResult r = check();
      if (!ready) {
        return 1;
      }
      return switch (r.status()) {
        case UNCHANGED, REBOOTING -> 0;
        case UNKNOWN -> 3;
        case REFUSED -> 4;
        case REBOOT_FAILED -> 1;
      };
    }
    LOG.info("watching every {} ms", cfg.interval().toMillis());
    while (true) {
      Thread.sleep(cfg.interval().toMillis());
      prepare();
      CheckResult r = check();
      if (r.status() == Status.REBOOTING) {
        LOG.info("reboot under way; the monitor stops checking");
        return 0;
      }
    }
  }

  /** Mounts the tmpfs if configured, warns about config, and sets the OS baseline. */
  public void start() {
    cfg.warnings().forEach(w -> LOG.warn("config: {}", w));
    LOG.info(
        "monitor starting: root {}, state {}, buildid_url {}, toolchains {}, interval {} ms",
        cfg.root(),
        cfg.stateDir(),
        cfg.buildIdUrl(),
        toolchains.isEmpty()
            ? "none"
            : String.join(
                ", ", toolchains.stream().map(t -> t.name() + " (" + t.spec.url() + ")").toList()),
        cfg.interval().toMillis());
    rebooter.publishMetrics();
    mountTmpfs();
    MonitorState saved = store.readState().orElse(null);
    if (saved != null
        && bootId != null
        && bootId.equals(saved.bootId())
        && saved.buildId() != null) {
      state = saved;
      LOG.info(
          "same boot as the recorded state: OS build-id baseline '{}'",
          Texts.shown(saved.buildId()));
    } else {
      state = MonitorState.empty(bootId);
      if (cfg.buildIdUrl() != null) {
        Reading r = watcher.buildId(cfg.buildIdUrl());
        if (r.known()) {
          setBuildIdBaseline(r.value());
        } else {
          LOG.warn(
              "OS build-id unknown at start ({}); the first one read will be the baseline",
              r.error());
        }
      }
    }
    withdrawUnconfiguredToolchains(saved == null ? Map.of() : saved.toolchains());
  }

  /**
   * Removes the published folders of toolchains this monitor published before (recorded in
   * state.json, kept across boots) that are no longer configured: a TFTP root that is not a tmpfs
   * keeps them, and what is under {@code <root>/tftp/toolchain/} is what the daemon and the
   * machines take for the host's toolchains (doc/monitor.md, "Toolchains and their ids"). Folders
   * the monitor did not publish are never touched.
   */
  private void withdrawUnconfiguredToolchains(Map<String, MonitorState.PublishedToolchain> before) {
    Set<String> gone = new TreeSet<>(before.keySet());
    toolchains.forEach(t -> gone.remove(t.name()));
    Map<String, MonitorState.PublishedToolchain> kept = new TreeMap<>(before);
    for (String name : gone) {
      Path folder = cfg.toolchainsDir().resolve(name);
      if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
        LOG.info("toolchain {} is no longer configured: removing {}", name, folder);
        Trees.deleteQuietly(folder);
      }
      if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
        LOG.warn("cannot remove {}, the folder of toolchain {} no longer configured", folder, name);
      } else {
        kept.remove(name);
      }
    }
    if (!kept.equals(state.toolchains())) {
      state = state.withToolchains(kept, now());
      saveState();
    }
  }

  /**
   * Mounts the TFTP tmpfs if tftp_tmpfs_size is set (and it is not mounted yet); a failure or a
   * refusal (the TFTP root is not empty) is logged and mailed, and the TFTP root stays as it is.
   *
   * @return false when a mount was wanted and failed or was refused
   */
  public boolean mountTmpfs() {
    if (cfg.tftpTmpfsSize() == null) {
      return true;
    }
    try {
      TftpTmpfs.mount(cfg.tftpDir(), cfg.tftpTmpfsSize());
      return true;
    } catch (IOException e) {
      LOG.error("{}; the TFTP root stays where it is", e.getMessage());
      notifier.notify("TFTP tmpfs not mounted", e.getMessage());
      return false;
    }
  }

  /**
   * Bootstraps every toolchain and starts its agent, as far as not done yet; failures are logged
   * and notified, naming the toolchain, and tried again at the next call. A toolchain that fails
   * does not hold back the others. A host without toolchains gets its one agent.
   *
   * @return whether every toolchain is installed and every agent started
   */
  public boolean prepare() {
    prepared = prepareAll();
    return prepared;
  }

  private boolean prepareAll() {
    if (toolchains.isEmpty()) {
      if (!hostAgentStarted) {
        LOG.info("no toolchain_url: no toolchain to bootstrap or watch");
        try {
          hostAgent = launchAgent(null);
          hostAgentStarted = true;
        } catch (AgentException e) {
          agentFailed("agent", e);
          return false;
        }
      }
      return true;
    }
    boolean ready = true;
    for (ServedToolchain t : toolchains) {
      ready &= bootstrap(t) && startAgent(t);
    }
    return ready;
  }

  /** Bootstraps and publishes t unless done; a failure is logged and mailed naming it. */
  private boolean bootstrap(ServedToolchain t) {
    if (t.published != null) {
      return true;
    }
    try {
      ToolchainBootstrap.Published p = t.bootstrap.fetchAndPublish();
      t.bootstrap.runCommands(p);
      t.published = p;
    } catch (BootstrapException e) {
      LOG.error("toolchain {}: bootstrap failed: {}", t.name(), e.getMessage());
      notifier.notify(
          "toolchain " + t.name() + " bootstrap failed",
          "toolchain "
              + t.name()
              + " ("
              + t.spec.url()
              + "): "
              + e.getMessage()
              + "\n\nIt is tried again at the next check.");
      return false;
    }
    ToolchainBootstrap.Published p = t.published;
    state = state.withToolchain(p.name(), p.toolchainId(), t.spec.url().toString(), now());
    saveState();
    try {
      store.writeChecksumFile(p.name(), p.checksumFile());
    } catch (IOException e) {
      LOG.warn("cannot keep a copy of the checksum file in {}: {}", store.dir(), e.getMessage());
    }
    LOG.info("toolchain {} bootstrapped (id {})", p.name(), p.toolchainId());
    return true;
  }

  /** Starts the agent of the bootstrapped toolchain t unless done. */
  private boolean startAgent(ServedToolchain t) {
    if (t.agentStarted) {
      return true;
    }
    try {
      t.agent = launchAgent(t);
      t.agentStarted = true;
      return true;
    } catch (AgentException e) {
      agentFailed("agent of toolchain " + t.name(), e);
      return false;
    }
  }

  private void agentFailed(String which, AgentException e) {
    LOG.error("{}: {}", which, e.getMessage());
    notifier.notify(
        which + " failed to start",
        which + ": " + e.getMessage() + "\n\nIt is tried again at the next check.");
  }

  /**
   * Starts the agent of the bootstrapped toolchain t (its unit or command with {@code {toolchain}}
   * replaced, its environment), or with t null the one agent of a host without toolchains.
   *
   * @return the agent, or null with agent_mode none
   */
  private Agent launchAgent(ServedToolchain t) throws AgentException {
    Toolchain spec = t == null ? null : t.spec;
    Map<String, String> env = t == null ? Map.of() : t.bootstrap.environment(t.published);
    Path dir = t == null ? null : t.published.dir();
    String label = toolchains.size() > 1 && t != null ? "agent " + t.name() : "agent";
    Agent agent =
        switch (cfg.effectiveAgentMode()) {
          case SYSTEMD ->
              new SystemdAgent(
                  cfg.systemctl(),
                  spec == null ? cfg.agentUnit() : spec.agentUnit(cfg.agentUnit()),
                  env);
          case PROCESS ->
              new SupervisedAgent(
                  label,
                  spec == null ? cfg.agentCommand() : spec.agentCommand(cfg.agentCommand()),
                  dir,
                  env,
                  cfg.agentBackoffMin(),
                  cfg.agentBackoffMax());
          default -> null;
        };
    if (agent == null) {
      LOG.info("agent_mode none: no agent to start");
      return null;
    }
    agent.start();
    return agent;
  }

  /** One check: usage report, build-id and toolchain readings, and a reboot if either changed. */
  public CheckResult check() throws InterruptedException {
    reportUsage();
    rebooter.tick();
    List<String> reasons = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    if (cfg.buildIdUrl() != null) {
      Reading r = watcher.buildId(cfg.buildIdUrl());
      if (!r.known()) {
        unknown.add(r.error());
      } else if (state.buildId() == null) {
        setBuildIdBaseline(r.value());
      } else if (!r.value().equals(state.buildId())) {
        reasons.add(
            "OS build-id changed: '"
                + Texts.shown(state.buildId())
                + "' -> '"
                + Texts.shown(r.value())
                + "'");
      }
    }
    for (ServedToolchain t : toolchains) {
      if (t.published == null) {
        continue; // no baseline before its first bootstrap
      }
      Reading r = watcher.toolchainId(t.spec.url(), t.watchTrust);
      if (!r.known()) {
        unknown.add("toolchain " + t.name() + ": " + r.error());
      } else if (!r.value().equals(t.published.toolchainId())) {
        reasons.add(
            "toolchain "
                + t.name()
                + ": checksum file "
                + t.spec.url()
                + " changed: id "
                + t.published.toolchainId()
                + " -> "
                + r.value());
      }
    }
    slot.settle(!reasons.isEmpty(), this::upAgain);
    if (!reasons.isEmpty()) {
      RebootOutcome o;
      try {
        o = rebooter.reboot(String.join("; ", reasons));
      } catch (InterruptedException e) {
        drainer.cancel();
        slot.giveBack("the monitor was interrupted");
        throw e;
      }
      return new CheckResult(
          switch (o.kind()) {
            case REBOOTING -> Status.REBOOTING;
            case REFUSED -> Status.REFUSED;
            case WAITING -> Status.UNKNOWN;
            case FAILED -> Status.REBOOT_FAILED;
          },
          o.message());
    }
    if (!unknown.isEmpty()) {
      String msg =
          "check result unknown (no reboot; trying again in "
              + cfg.interval().toMillis()
              + " ms): "
              + String.join("; ", unknown);
      LOG.warn(msg);
      return new CheckResult(Status.UNKNOWN, msg);
    }
    String msg =
        "no change: OS build-id "
            + (state.buildId() == null ? "not watched" : "'" + Texts.shown(state.buildId()) + "'")
            + ", "
            + toolchainsNow();
    LOG.info(msg);
    return new CheckResult(Status.UNCHANGED, msg);
  }

  /**
   * Whether the host is up again after a reboot: every toolchain bootstrapped (and agent started)
   * and the daemon answering.
   */
  private boolean upAgain() {
    if (!prepared) {
      return false;
    }
    try {
      DaemonClient c = DaemonClient.locate(cfg, apiTimeout).orElse(null);
      if (c == null) {
        LOG.info("no daemon runs yet (no daemon_url, no api.json)");
        return false;
      }
      c.instances();
      return true;
    } catch (DaemonException e) {
      LOG.info("the daemon does not answer yet: {}", e.getMessage());
      return false;
    }
  }

  private String toolchainsNow() {
    if (toolchains.isEmpty()) {
      return "no toolchain";
    }
    List<String> each = new ArrayList<>();
    for (ServedToolchain t : toolchains) {
      each.add(
          "toolchain "
              + t.name()
              + " "
              + (t.published == null ? "not bootstrapped yet" : t.published.toolchainId()));
    }
    return String.join(", ", each);
  }

  private String now() {
    return clock.instant().toString();
  }

  private void setBuildIdBaseline(String id) {
    state = state.withBuildId(id, clock.instant().toString());
    LOG.info("OS build-id baseline: '{}'", Texts.shown(id));
    saveState();
  }

  private void saveState() {
    try {
      store.writeState(state);
    } catch (IOException e) {
      LOG.warn("cannot write {}: {}", store.stateFile(), e.getMessage());
    }
  }

  private void reportUsage() {
    Path tftp = cfg.tftpDir();
    if (!Files.isDirectory(tftp)) {
      return;
    }
    try {
      LOG.info("TFTP root {} usage: {}", tftp, TftpTmpfs.usage(tftp));
    } catch (IOException e) {
      LOG.warn("cannot read the usage of {}: {}", tftp, e.getMessage());
    }
  }

  /**
   * Stops the supervised agents (a systemd unit is left running) and leaves etcd (a reboot slot
   * stays: it outlives the monitor).
   */
  @Override
  public void close() {
    if (semaphore != null) {
      semaphore.close();
    }
    if (fleet != null) {
      fleet.close();
    }
    if (hostAgent != null) {
      hostAgent.close();
    }
    for (ServedToolchain t : toolchains) {
      if (t.agent != null) {
        t.agent.close();
      }
    }
  }
}
