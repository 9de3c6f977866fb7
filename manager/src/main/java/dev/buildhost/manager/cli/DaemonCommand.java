package dev.buildhost.manager.cli;

import dev.buildhost.manager.daemon.ConfigException;
import dev.buildhost.manager.daemon.ConfigFile;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.daemon.Setting;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code buildhost daemon}: runs the manager, the TFTP servers and the API until SIGTERM. Its flags
 * are made from {@link Setting}, so each config file key is a flag too.
 */
@Command(
    name = "daemon",
    modelTransformer = DaemonCommand.SettingFlags.class,
    description = {
      "Runs the machine manager, the read-only TFTP server of <root>/tftp, the per-instance TFTP "
          + "servers and the HTTP API until SIGTERM or SIGINT.",
      "At start it reconciles: instances that outlived the previous daemon are adopted, leftovers removed. "
          + "On SIGTERM it stops taking work and stops the TFTP servers; instances keep running (the next "
          + "daemon adopts them) unless --stop-instances-on-exit.",
      "Settings come from --config FILE (one 'key = value' per line, '#' comments; keys as the flags "
          + "without '--', with '_' for '-': state_dir; see doc/configuration.md); a flag overrides the file."
    },
    footer = {
      "%nExamples:",
      "  buildhost daemon --root /build --listen 127.0.0.1:7346",
      "  buildhost daemon --config /etc/buildhost/daemon.conf --max-instances 4",
      ExitCode.HELP
    })
public final class DaemonCommand implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE", description = "config file (key = value lines)")
  Path config;

  @Spec CommandSpec spec;

  /** Adds one flag per {@link Setting}; the fleet's are config file keys only, as the monitor's. */
  static final class SettingFlags implements CommandLine.IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
      for (Setting setting : Setting.values()) {
        if (setting.isFleet()) {
          continue;
        }
        OptionSpec.Builder option =
            OptionSpec.builder(setting.flag())
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
      ConfigFile file =
          config == null ? new ConfigFile("", Map.of(), List.of()) : ConfigFile.read(config);
      for (String warning : file.warnings()) {
        spec.commandLine().getErr().println("buildhost daemon: warning: " + warning);
      }
      spec.commandLine().getErr().flush();
      settings = DaemonSettings.resolve(file, flags());
    } catch (ConfigException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    return DaemonRunner.run(settings, spec.commandLine().getErr());
  }

  /** The settings given as flags. */
  Map<Setting, String> flags() {
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
    for (Setting setting : Setting.values()) {
      if (!setting.isFleet() && parsed.hasMatchedOption(setting.flag())) {
        flags.put(setting, parsed.matchedOptionValue(setting.flag(), ""));
      }
    }
    return flags;
  }
}
