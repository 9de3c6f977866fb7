package dev.buildhost.monitor;

import dev.buildhost.common.text.Texts;
import dev.buildhost.monitor.agent.Agent;
import dev.buildhost.monitor.agent.AgentException;
import dev.buildhost.monitor.agent.SupervisedAgent;
import dev.buildhost.monitor.agent.SystemdAgent;
import dev.buildhost.monitor.bootstrap.BootstrapException;
import dev.buildhost.monitor.bootstrap.Progress;
import dev.buildhost.monitor.bootstrap.ToolchainBootstrap;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.daemon.DaemonClient;
import dev.buildhost.monitor.daemon.GuestRecords;
import dev.buildhost.monitor.daemon.HostDrainer;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.notify.Notifier;
import dev.buildhost.monitor.reboot.RebootOutcome;
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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's life: mount the TFTP tmpfs (optional), bootstrap the toolchain, start the agent,
 * then check the OS build-id and the toolchain checksum file every interval and reboot (through
 * {@link Rebooter}) when either changed.
 *
 * <p>Baselines: the toolchain baseline is the checksum file this run bootstrapped from. The OS
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
  private final ToolchainBootstrap bootstrap;
  private final Notifier notifier;
  private final HostDrainer drainer;
  private final Rebooter rebooter;
  private final String bootId;
  private MonitorState state;
  private ToolchainBootstrap.Published published;
  private boolean toolchainReady;
  private Agent agent;
  private boolean agentStarted;

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
    this.watcher =
        new Watcher(
            fetcher,
            cfg.maxChecksumFileSize(),
            cfg.trustedKey() == null
                ? null
                : new ChecksumFileTrust(cfg.trustedKey(), fetcher, clock));
    this.bootstrap = new ToolchainBootstrap(cfg, fetcher, progress, clock);
    this.notifier = new Notifier(cfg);
    Duration apiTimeout =
        cfg.connectTimeout().compareTo(Duration.ofSeconds(30)) < 0
            ? cfg.connectTimeout()
            : Duration.ofSeconds(30);
    this.drainer =
        new HostDrainer(
            () -> DaemonClient.locate(cfg, apiTimeout).orElse(null),
            new GuestRecords(cfg.stateDir(), cfg.daemonUrl() != null));
    this.bootId = HostInfo.bootId(bootIdFile);
    this.rebooter = new Rebooter(cfg, store, drainer, notifier, clock, bootId, uptime);
  }

  /** The toolchain published by this run, or null. */
  public ToolchainBootstrap.Published published() {
    return published;
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
        "monitor starting: root {}, state {}, buildid_url {}, toolchain_url {}, interval {} ms",
        cfg.root(),
        cfg.stateDir(),
        cfg.buildIdUrl(),
        cfg.toolchainUrl(),
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
   * Bootstraps the toolchain and starts the agent if not done yet; failures are logged and
   * notified, and tried again at the next call.
   *
   * @return whether the toolchain is installed and the agent started
   */
  public boolean prepare() {
    if (!toolchainReady) {
      if (cfg.toolchainUrl() == null) {
        LOG.info("no toolchain_url: no toolchain to bootstrap or watch");
        toolchainReady = true;
      } else {
        try {
          ToolchainBootstrap.Published p = bootstrap.fetchAndPublish();
          bootstrap.runCommands(p);
          published = p;
          toolchainReady = true;
          state =
              state.withToolchain(
                  p.name(),
                  p.toolchainId(),
                  cfg.toolchainUrl().toString(),
                  clock.instant().toString());
          saveState();
          try {
            store.writeChecksumFile(p.checksumFile());
          } catch (IOException e) {
            LOG.warn(
                "cannot keep a copy of the checksum file in {}: {}", store.dir(), e.getMessage());
          }
          LOG.info("toolchain {} bootstrapped (id {})", p.name(), p.toolchainId());
        } catch (BootstrapException e) {
          LOG.error("toolchain bootstrap failed: {}", e.getMessage());
          notifier.notify(
              "toolchain bootstrap failed",
              e.getMessage() + "\n\nIt is tried again at the next check.");
          return false;
        }
      }
    }
    if (!agentStarted) {
      try {
        startAgent();
        agentStarted = true;
      } catch (AgentException e) {
        LOG.error("{}", e.getMessage());
        notifier.notify(
            "agent start failed", e.getMessage() + "\n\nIt is tried again at the next check.");
        return false;
      }
    }
    return true;
  }

  private void startAgent() throws AgentException {
    Map<String, String> env = published == null ? Map.of() : bootstrap.environment(published);
    Path dir = published == null ? null : published.dir();
    agent =
        switch (cfg.effectiveAgentMode()) {
          case SYSTEMD -> new SystemdAgent(cfg.systemctl(), cfg.agentUnit(), env);
          case PROCESS ->
              new SupervisedAgent(
                  cfg.agentCommand(), dir, env, cfg.agentBackoffMin(), cfg.agentBackoffMax());
          default -> null;
        };
    if (agent == null) {
      LOG.info("agent_mode none: no agent to start");
      return;
    }
    agent.start();
  }

  /** The agent started by {@link #prepare}, or null. */
  public Agent agent() {
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
    if (cfg.toolchainUrl() != null && published != null) {
      Reading r = watcher.toolchainId(cfg.toolchainUrl());
      if (!r.known()) {
        unknown.add(r.error());
      } else if (!r.value().equals(published.toolchainId())) {
        reasons.add(
            "toolchain checksum file "
                + cfg.toolchainUrl()
                + " changed: id "
                + published.toolchainId()
                + " -> "
                + r.value());
      }
    }
    if (!reasons.isEmpty()) {
      RebootOutcome o;
      try {
        o = rebooter.reboot(String.join("; ", reasons));
      } catch (InterruptedException e) {
        drainer.cancel();
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
            + ", toolchain "
            + (published == null ? "not watched" : published.toolchainId());
    LOG.info(msg);
    return new CheckResult(Status.UNCHANGED, msg);
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

  /** Stops a supervised agent (a systemd unit is left running). */
  @Override
  public void close() {
    if (agent != null) {
      agent.close();
    }
  }
}
