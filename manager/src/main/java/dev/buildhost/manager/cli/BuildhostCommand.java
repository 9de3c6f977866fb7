package dev.buildhost.manager.cli;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code bin/buildhost}: the machinectl-style CLI and the servers (daemon, tftp). The top command
 * and the client verbs are built in code ({@link CommandSpecs} says why); every verb has --help and
 * --version. The verbs are registered by name ({@link #VERBS}), so that a run builds the model of
 * the one verb it runs (see {@link #commandLine(String[])}).
 */
public final class BuildhostCommand implements Runnable {

  /** The top command's footer: where the rest is. */
  private static final String[] FOOTER = {
    "%nThe monitor (toolchain bootstrap, reboot on OS or toolchain change) runs as",
    "'buildhost monitor'; see 'buildhost monitor --help'. The manual is in doc/."
  };

  /**
   * Every verb by its name, in the order of the help, with how to build its model. For all of them
   * (the daemon's and the TFTP server's many options included) building the model was a third of a
   * client verb's start-up, so a run that names its verb builds that one alone.
   */
  static final Map<String, Supplier<CommandLine>> VERBS = verbs();

  private static Map<String, Supplier<CommandLine>> verbs() {
    Map<String, Supplier<CommandLine>> verbs = new LinkedHashMap<>();
    verbs.put("help", () -> annotated(CommandLine.HelpCommand.class));
    verbs.put("list", () -> client(new MachineCommands.ListMachines()));
    verbs.put("list-images", () -> client(new MachineCommands.ListImages()));
    verbs.put("image-status", () -> client(new MachineCommands.ImageStatus()));
    verbs.put("start", () -> client(new StartCommand()));
    verbs.put("bootstrap", () -> client(new BootstrapCommand()));
    verbs.put("prune", () -> client(new PruneCommand()));
    verbs.put("publish", () -> client(new PublishCommand()));
    verbs.put("instances", () -> client(new InstanceCommands.ListInstances()));
    verbs.put("status", () -> client(new InstanceCommands.Status()));
    verbs.put("show", () -> client(new InstanceCommands.Show()));
    verbs.put("poweroff", () -> client(new InstanceCommands.Poweroff()));
    verbs.put("terminate", () -> client(new InstanceCommands.Terminate()));
    verbs.put("delete", () -> client(new InstanceCommands.Delete()));
    verbs.put("logs", () -> client(new FileCommands.Logs()));
    verbs.put("copy-to", () -> client(new FileCommands.CopyTo()));
    verbs.put("copy-from", () -> client(new FileCommands.CopyFrom()));
    verbs.put("events", () -> client(new EventsCommand()));
    verbs.put("host", () -> client(new HostCommand()));
    verbs.put("fleet", () -> CommandSpecs.commandLine(new FleetCommand().spec));
    verbs.put("daemon", () -> annotated(DaemonCommand.class));
    verbs.put("generate-completion", () -> annotated(GenerateCompletionCommand.class));
    verbs.put("tftp", () -> annotated(dev.buildhost.tftp.cli.TftpCommand.class));
    return Collections.unmodifiableMap(verbs);
  }

  private static CommandLine client(ClientCommand verb) {
    return CommandSpecs.commandLine(verb.spec);
  }

  /** A verb read from its annotations, with the help options and version every verb has. */
  private static CommandLine annotated(Class<?> verb) {
    // A CommandLine of its own, not addSubcommand(Class): picocli applies a verb's model
    // transformer (the daemon's setting flags) only in the constructor a caller calls.
    CommandLine cli = new CommandLine(verb);
    // A verb that has its own -h (help, tftp) keeps it: picocli adds none then.
    cli.getCommandSpec().mixinStandardHelpOptions(true).versionProvider(new VersionProvider());
    return cli;
  }

  /** Verbs that look at the other verbs, so they need them all registered. */
  private static final Set<String> VERBS_NEEDING_ALL = Set.of("help", "generate-completion");

  /** The top command's version options: answered by the top command alone, without any verb. */
  private static final Set<String> VERSION_OPTIONS = Set.of("--version", "-V");

  private final CommandSpec spec = CommandSpecs.command(this, "buildhost");

  private BuildhostCommand() {
    spec.usageMessage()
        .description("Build host: one-shot VMs and containers with a TFTP channel.")
        .footer(FOOTER);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing a command; see 'buildhost --help'.");
  }

  /** The CLI with every verb, picocli's exit-code mapping and failure handling set up. */
  public static CommandLine commandLine() {
    return commandLine(VERBS.keySet());
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
    if (args.length > 0 && VERBS.containsKey(args[0]) && !VERBS_NEEDING_ALL.contains(args[0])) {
      return commandLine(List.of(args[0]));
    }
    return commandLine(VERBS.keySet());
  }

  private static CommandLine commandLine(Collection<String> verbs) {
    // picocli's default factory otherwise looks for Groovy's closure class (we have no Groovy):
    // a class that is not there is looked for in every jar of the class path, at every run.
    System.setProperty("picocli.disable.closures", "true");
    // No option takes a java.sql or java.time type (durations are text: Durations), and looking
    // those converters up by reflection loaded and initialised their classes at every run.
    System.setProperty("picocli.converters.excludes", "java\\.sql\\..*,java\\.time\\..*");
    CommandLine cli = CommandSpecs.commandLine(new BuildhostCommand().spec);
    for (String verb : verbs) {
      cli.addSubcommand(verb, VERBS.get(verb).get());
    }
    // After the verbs: picocli passes these settings to the subcommands present when they are set.
    cli.setExitCodeExceptionMapper(new ExitCode())
        .setExecutionExceptionHandler(new ExitCode.Failures());
    return cli;
  }

  public static void main(String[] args) {
    if (args.length == 1 && VERSION_OPTIONS.contains(args[0])) {
      // What picocli would print, without building even the top command's model: that was most
      // of `buildhost --version`'s time (bench/cli).
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
