package dev.buildhost.manager.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/buildhost}: the machinectl-style CLI and the servers (daemon, tftp). */
@Command(
    name = "buildhost",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Build host: one-shot VMs and containers with a TFTP channel.",
    footer = {"%nThe monitor (toolchain bootstrap, reboot on OS or toolchain change) runs as",
        "'buildhost monitor'; see 'buildhost monitor --help'. The manual is in doc/."},
    subcommands = {CommandLine.HelpCommand.class,
        MachineCommands.ListMachines.class, MachineCommands.ListImages.class, MachineCommands.ImageStatus.class,
        StartCommand.class, InstanceCommands.ListInstances.class, InstanceCommands.Status.class,
        InstanceCommands.Show.class, InstanceCommands.Poweroff.class, InstanceCommands.Terminate.class,
        InstanceCommands.Delete.class, FileCommands.Logs.class, FileCommands.CopyTo.class,
        FileCommands.CopyFrom.class, EventsCommand.class, HostCommand.class, DaemonCommand.class,
        GenerateCompletionCommand.class,
        dev.buildhost.tftp.cli.TftpCommand.class})
public final class BuildhostCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command; see 'buildhost --help'.");
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new BuildhostCommand()).execute(args));
  }
}
