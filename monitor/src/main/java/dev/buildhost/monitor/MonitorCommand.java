package dev.buildhost.monitor;

import dev.buildhost.fleet.FleetException;
import dev.buildhost.monitor.config.ConfigException;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * {@code bin/buildhost monitor}: bootstrap the toolchains, start one agent each, reboot on change.
 */
@Command(
    name = "buildhost monitor",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    versionProvider = MonitorCommand.Version.class,
    customSynopsis =
        "buildhost monitor [--config FILE] [--cmdline FILE] [--once|--mount-tmpfs] [--SETTING VALUE]...",
    description = {
      "Bootstraps every toolchain (toolchain_url, or toolchain_url.<name> for each of several), starts"
          + " one agent per toolchain, then checks the OS build-id and every toolchain's checksum file every"
          + " interval. Bootstrapping fetches the checksum file, downloads and verifies every file, publishes"
          + " them read-only under <root>/tftp/toolchain/<name>/ and runs the install and agent-build commands."
          + " A change of any drains the daemon and reboots the host (at most max_reboots_per_hour times an"
          + " hour); a check that fails is 'unknown' and never reboots.",
      "",
      "Every setting comes from, in order of precedence: its flag, buildos.<setting> on the kernel command"
          + " line, '<setting> = value' in the config file, its default. Durations: 500ms, 30s, 5m, 2h, 1h30m.",
      ""
    },
    footerHeading = "%nExample:%n",
    footer = {
      "  buildhost monitor --root /build --state-dir /state/buildhost \\",
      "    --buildid-url http://pxe.lan/buildos/buildos-buildid \\",
      "    --toolchain-url http://pxe.lan/toolchain/toolchain.sha256 \\",
      "    --install-command 'sh ./install.sh' --agent-unit bbot-agent.service \\",
      "    --interval 5m --drain-timeout 2h --max-reboots-per-hour 3",
      "",
      "  The same from the kernel command line (Build OS style):",
      "    buildos.buildid_url=http://pxe.lan/buildos/buildos-buildid",
      "    buildos.toolchain_url.toolchain=http://pxe.lan/toolchain/toolchain.sha256",
      "    buildos.smtp_relay=mail.lan buildos.admin_email=admin@example.org",
      "",
      "  Two toolchains, one agent each (bbot-agent@stable.service, bbot-agent@staging.service):",
      "    buildos.toolchain_url.stable=http://pxe.lan/stable/toolchain.sha256",
      "    buildos.toolchain_url.staging=http://pxe.lan/staging/toolchain.sha256",
      "    buildos.agent_unit=bbot-agent@.service",
      "",
      "Exit status: 0 fine (or a reboot is under way), 1 bootstrap, agent or reboot"
          + " failure (--mount-tmpfs: the mount failed or was refused), 2 bad configuration, 3 (--once) a check could not be made, 4 (--once)"
          + " a reboot was refused by the rate cap. See doc/monitor.md."
    })
public final class MonitorCommand implements Callable<Integer> {

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "Config file of 'setting = value' lines. Default: "
              + "/etc/buildhost/monitor.conf if it exists.")
  Path config;

  @Option(
      names = "--cmdline",
      paramLabel = "FILE",
      description =
          "Kernel command line to read buildos.* parameters from. Default: /proc/cmdline.")
  Path cmdline;

  @Option(
      names = "--once",
      description = "Bootstrap, check once, and exit (a supervised agent is stopped on exit).")
  boolean once;

  @Option(
      names = "--mount-tmpfs",
      description =
          "Only mount the TFTP tmpfs (tftp_tmpfs_size) and exit: the"
              + " unit's ExecStartPre, so that it is mounted before the daemon starts. Exit status 1 when the mount failed"
              + " or was refused (the TFTP root is not empty).")
  boolean mountTmpfs;

  @CommandLine.Spec CommandSpec spec;

  /** The command line with one option per {@link Setting} added. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new MonitorCommand());
    for (Setting s : Setting.values()) {
      cl.getCommandSpec()
          .addOption(
              OptionSpec.builder(s.flag())
                  .paramLabel(s.label())
                  .type(String.class)
                  .description(s.description() + " Default: " + s.defaultText() + ".")
                  .build());
    }
    return cl;
  }

  /** The setting values given as flags. */
  Map<Setting, String> flags() {
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    CommandLine.ParseResult pr = spec.commandLine().getParseResult();
    for (Setting s : Setting.values()) {
      OptionSpec o = spec.findOption(s.flag());
      if (o != null && pr.hasMatchedOption(o)) {
        flags.put(s, o.getValue());
      }
    }
    return flags;
  }

  @Override
  public Integer call() throws Exception {
    MonitorConfig cfg;
    try {
      cfg = ConfigLoader.load(config, cmdline, flags());
    } catch (ConfigException e) {
      spec.commandLine().getErr().println("buildhost monitor: " + e.getMessage());
      return 2;
    }
    Monitor monitor;
    try {
      monitor = new Monitor(cfg);
    } catch (FleetException e) {
      spec.commandLine().getErr().println("buildhost monitor: fleet: " + e.getMessage());
      return 2;
    }
    if (mountTmpfs) {
      return monitor.mountTmpfs() ? 0 : 1;
    }
    Thread main = Thread.currentThread();
    Thread hook =
        new Thread(
            () -> {
              main.interrupt();
              try {
                main.join(15_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              monitor.close();
            },
            "monitor-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      return monitor.run(once);
    } catch (InterruptedException e) {
      return 0;
    } finally {
      monitor.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // shutting down already
      }
    }
  }

  /** The version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = MonitorCommand.class.getPackage().getImplementationVersion();
      return new String[] {"buildhost monitor " + (v == null ? "(development build)" : v)};
    }
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
