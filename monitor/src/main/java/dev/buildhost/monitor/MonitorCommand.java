package dev.buildhost.monitor;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/buildhost monitor}: bootstrap the toolchain, start the agent, reboot on change. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    description = "Bootstraps the toolchain, starts the agent, reboots the host when the OS or toolchain changes.")
public final class MonitorCommand implements Runnable {

  @Override
  public void run() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new MonitorCommand()).execute(args));
  }
}
