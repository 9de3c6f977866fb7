package dev.buildhost.manager.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/**
 * {@code bin/buildhost}: the machinectl-style CLI and the servers (daemon, tftp). Its command
 * attributes are inherited ({@code scope = INHERIT}): every verb gets --help and --version from
 * here instead of declaring them.
 */
@Command(
    name = "buildhost",
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Build host: one-shot VMs and containers with a TFTP channel.",
    subcommands = {
      CommandLine.HelpCommand.class,
      MachineCommands.ListMachines.class,
      MachineCommands.ListImages.class,
      MachineCommands.ImageStatus.class,
      StartCommand.class,
      BootstrapCommand.class,
      PruneCommand.class,
      InstanceCommands.ListInstances.class,
      InstanceCommands.Status.class,
      InstanceCommands.Show.class,
      InstanceCommands.Poweroff.class,
      InstanceCommands.Terminate.class,
      InstanceCommands.Delete.class,
      FileCommands.Logs.class,
      FileCommands.CopyTo.class,
      FileCommands.CopyFrom.class,
      EventsCommand.class,
      HostCommand.class,
      DaemonCommand.class,
      GenerateCompletionCommand.class,
      dev.buildhost.tftp.cli.TftpCommand.class
    })
public final class BuildhostCommand implements Runnable {

  /**
   * The top command's own footer. Set on it after the verbs inherited its attributes, since an
   * inherited footer would end the help of every verb that has none (tftp) with this text.
   */
  private static final String[] FOOTER = {
    "%nThe monitor (toolchain bootstrap, reboot on OS or toolchain change) runs as",
    "'buildhost monitor'; see 'buildhost monitor --help'. The manual is in doc/."
  };

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing a command; see 'buildhost --help'.");
  }

  /** The CLI with picocli's exit-code mapping and failure handling set up, as main runs it. */
  public static CommandLine commandLine() {
    CommandLine cli =
        new CommandLine(new BuildhostCommand())
            .setExitCodeExceptionMapper(new ExitCode())
            .setExecutionExceptionHandler(new ExitCode.Failures());
    cli.getCommandSpec().usageMessage().footer(FOOTER);
    return cli;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
