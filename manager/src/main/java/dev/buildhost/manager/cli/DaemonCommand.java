package dev.buildhost.manager.cli;

import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.daemon.ConfigException;
import dev.buildhost.manager.daemon.ConfigFile;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.daemon.Setting;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.model.ManagerException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code buildhost daemon}: runs the manager, the TFTP servers and the API until SIGTERM. Its
 * flags are made from {@link Setting}, so each config file key is a flag too.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true, modelTransformer = DaemonCommand.SettingFlags.class,
    description = {"Runs the machine manager, the read-only TFTP server of <root>/tftp, the per-instance TFTP "
        + "servers and the HTTP API until SIGTERM or SIGINT.",
        "At start it reconciles: instances that outlived the previous daemon are adopted, leftovers removed. "
            + "On SIGTERM it stops taking work and stops the TFTP servers; instances keep running (the next "
            + "daemon adopts them) unless --stop-instances-on-exit.",
        "Settings come from --config FILE (one 'key = value' per line, '#' comments; keys as the flags "
            + "without '--'; see doc/configuration.md); a flag overrides the file."},
    footer = {"%nExamples:", "  buildhost daemon --root /build --listen 127.0.0.1:7346",
        "  buildhost daemon --config /etc/buildhost/daemon.conf --max-instances 4", ExitCode.HELP})
public final class DaemonCommand implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE", description = "config file (key = value lines)")
  Path config;

  @Spec
  CommandSpec spec;

  /** Adds one flag per {@link Setting}. */
  static final class SettingFlags implements CommandLine.IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
      for (Setting setting : Setting.values()) {
        OptionSpec.Builder option = OptionSpec.builder(setting.flag())
            .paramLabel(setting.valueLabel())
            .description(setting.description())
            .type(String.class);
        if (setting == Setting.STOP_INSTANCES_ON_EXIT) {
          option.arity("0..1").fallbackValue("true");
        }
        spec.addOption(option.build());
      }
      return spec;
    }
  }

  @Override
  public Integer call() throws Exception {
    DaemonSettings settings;
    try {
      Map<Setting, String> file = config == null ? Map.of() : ConfigFile.read(config);
      settings = DaemonSettings.resolve(file, String.valueOf(config), flags());
    } catch (ConfigException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    Daemon daemon;
    try {
      daemon = Daemon.start(settings, DaemonCommand::backends, ApiServer.Limits.DEFAULT);
    } catch (IOException | ManagerException e) {
      spec.commandLine().getErr().println("buildhost daemon: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return ExitCode.FAILED;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      daemon.close();
      // A stop on SIGTERM/SIGINT is the daemon's normal end: exit 0, not the JVM's 128+signal.
      Runtime.getRuntime().halt(ExitCode.OK);
    }, "daemon-shutdown"));
    new CountDownLatch(1).await(); // until the shutdown hook ends the process
    return ExitCode.OK;
  }

  /** The settings given as flags. */
  Map<Setting, String> flags() {
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
    for (Setting setting : Setting.values()) {
      if (parsed.hasMatchedOption(setting.flag())) {
        flags.put(setting, parsed.matchedOptionValue(setting.flag(), ""));
      }
    }
    return flags;
  }

  /** The production backends: libvirt for kvm machines, Docker for docker ones. */
  static List<InstanceBackend> backends(ManagerConfig config) {
    return List.of(new LibvirtBackend(config), new DockerBackend(config));
  }
}
