package dev.buildhost.manager.cli;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/**
 * {@code bin/buildhost}: the machinectl-style CLI and the servers (daemon, tftp). Its command
 * attributes are inherited ({@code scope = INHERIT}): every verb gets --help and --version from
 * here instead of declaring them. The verbs are registered in code ({@link #VERBS}), not in the
 * annotation, so that a run builds the model of the one verb it runs (see {@link
 * #commandLine(String[])}).
 */
@Command(
    name = "buildhost",
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Build host: one-shot VMs and containers with a TFTP channel.")
public final class BuildhostCommand implements Runnable {

  /**
   * The top command's own footer. Set on it after the verbs inherited its attributes, since an
   * inherited footer would end the help of every verb that has none (tftp) with this text.
   */
  private static final String[] FOOTER = {
    "%nThe monitor (toolchain bootstrap, reboot on OS or toolchain change) runs as",
    "'buildhost monitor'; see 'buildhost monitor --help'. The manual is in doc/."
  };

  /**
   * Every verb by its name, in the order of the help. picocli builds a verb's model by reflection
   * over its annotations; for all of them (the daemon's and the TFTP server's many options
   * included) that was a third of a client verb's start-up, so a run that names its verb builds
   * that one alone. The names are written here, not read from the annotations, because reading them
   * parsed every verb's annotations again (BuildhostCommandTest checks that they agree).
   */
  static final Map<String, Class<?>> VERBS = verbs();

  private static Map<String, Class<?>> verbs() {
    Map<String, Class<?>> verbs = new LinkedHashMap<>();
    verbs.put("help", CommandLine.HelpCommand.class);
    verbs.put("list", MachineCommands.ListMachines.class);
    verbs.put("list-images", MachineCommands.ListImages.class);
    verbs.put("image-status", MachineCommands.ImageStatus.class);
    verbs.put("start", StartCommand.class);
    verbs.put("bootstrap", BootstrapCommand.class);
    verbs.put("prune", PruneCommand.class);
    verbs.put("publish", PublishCommand.class);
    verbs.put("instances", InstanceCommands.ListInstances.class);
    verbs.put("status", InstanceCommands.Status.class);
    verbs.put("show", InstanceCommands.Show.class);
    verbs.put("poweroff", InstanceCommands.Poweroff.class);
    verbs.put("terminate", InstanceCommands.Terminate.class);
    verbs.put("delete", InstanceCommands.Delete.class);
    verbs.put("logs", FileCommands.Logs.class);
    verbs.put("copy-to", FileCommands.CopyTo.class);
    verbs.put("copy-from", FileCommands.CopyFrom.class);
    verbs.put("events", EventsCommand.class);
    verbs.put("host", HostCommand.class);
    verbs.put("fleet", FleetCommand.class);
    verbs.put("daemon", DaemonCommand.class);
    verbs.put("generate-completion", GenerateCompletionCommand.class);
    verbs.put("tftp", dev.buildhost.tftp.cli.TftpCommand.class);
    return Collections.unmodifiableMap(verbs);
  }

  /** Verbs that look at the other verbs, so they need them all registered. */
  private static final Set<String> VERBS_NEEDING_ALL = Set.of("help", "generate-completion");

  /** The top command's version options: answered by the top command alone, without any verb. */
  private static final Set<String> VERSION_OPTIONS = Set.of("--version", "-V");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing a command; see 'buildhost --help'.");
  }

  /** The CLI with every verb, picocli's exit-code mapping and failure handling set up. */
  public static CommandLine commandLine() {
    return commandLine(VERBS.values());
  }

  /**
   * The CLI as main runs it for {@code args}: when the first argument names a verb that does not
   * list the others, that verb alone (its help, errors and exit codes are the same); for {@code
   * buildhost --version} alone, no verb; otherwise, as for {@code buildhost --help} or a mistyped
   * verb, every verb.
   */
  public static CommandLine commandLine(String[] args) {
    if (args.length == 1 && VERSION_OPTIONS.contains(args[0])) {
      return commandLine(List.of());
    }
    Class<?> verb = args.length > 0 ? VERBS.get(args[0]) : null;
    if (verb != null && !VERBS_NEEDING_ALL.contains(args[0])) {
      return commandLine(List.of(verb));
    }
    return commandLine(VERBS.values());
  }

  private static CommandLine commandLine(Collection<Class<?>> verbs) {
    // picocli's default factory otherwise looks for Groovy's closure class (we have no Groovy):
    // a class that is not there is looked for in every jar of the class path, at every run.
    System.setProperty("picocli.disable.closures", "true");
    CommandLine cli = new CommandLine(new BuildhostCommand());
    for (Class<?> verb : verbs) {
      // A CommandLine of its own, not addSubcommand(Class): picocli applies a verb's model
      // transformer (the daemon's setting flags) only in the constructor a caller calls.
      cli.addSubcommand(new CommandLine(verb));
    }
    // After the verbs: picocli passes these settings to the subcommands present when they are set.
    cli.setExitCodeExceptionMapper(new ExitCode())
        .setExecutionExceptionHandler(new ExitCode.Failures());
    cli.getCommandSpec().usageMessage().footer(FOOTER);
    return cli;
  }

  public static void main(String[] args) {
    if (args.length == 1 && VERSION_OPTIONS.contains(args[0])) {
      // What picocli would print, without building even the top command's model: reading its
      // annotations was most of `buildhost --version`'s time (bench/cli).
      for (String line : new VersionProvider().getVersion()) {
        System.out.println(line);
      }
      System.exit(ExitCode.OK);
    }
    // The CLI speaks English, and its numbers read the same everywhere (scripts parse them): en-US,
    // whose formatting needs none of the locale data that took a tenth of a verb's start-up to
    // load (bench/cli).
    Locale.setDefault(Locale.US);
    System.exit(commandLine(args).execute(args));
  }
}
