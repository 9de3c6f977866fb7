package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.HostInfo;
import java.io.PrintWriter;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.OptionSpec;

/** {@code buildhost host}: acceleration, capacity, versions, draining. */
final class HostCommand extends ClientCommand {

  /** TRUE with --drain, FALSE with --undrain, null with neither (the two exclude each other). */
  Boolean drain;

  HostCommand() {
    super("host");
    description(
        "Shows the host: acceleration, capacity, versions, TFTP, whether it drains. "
            + "--drain makes it refuse new instances (running ones go on); --undrain ends that.");
    footer("%nExample:", "  buildhost host", "  buildhost host --drain", ExitCode.HELP);
    spec.addArgGroup(
        ArgGroupSpec.builder()
            .exclusive(true)
            .multiplicity("0..1")
            .addArg(drainOption("--drain", "refuse new instances from now on", true))
            .addArg(drainOption("--undrain", "accept new instances again", false))
            .build());
  }

  private OptionSpec drainOption(String name, String description, boolean draining) {
    return CommandSpecs.into(
            OptionSpec.builder(name).type(boolean.class).description(description),
            given -> {
              if (Boolean.TRUE.equals(given)) {
                drain = draining;
              }
            })
        .build();
  }

  @Override
  int run(ApiClient client) throws Exception {
    HostInfo host = drain == null ? client.host() : client.drain(drain);
    if (json()) {
      printJson(host);
      return ExitCode.OK;
    }
    PrintWriter out = out();
    out.printf("buildhost %s on %s%n", host.version(), client.base());
    out.printf("  acceleration: %s%n", host.acceleration());
    out.printf(
        "  instances:    %d active of %d (RAM budget %d MiB)%n",
        host.capacity().active(), host.capacity().maxInstances(), host.capacity().ramBudgetMib());
    out.printf("  draining:     %s%n", host.draining() ? "yes: new instances are refused" : "no");
    out.printf(
        "  tftp:         read-only %s, instance ports %d-%d%n",
        host.tftp().readOnly() == null ? "off" : host.tftp().readOnly(),
        host.tftp().portFirst(),
        host.tftp().portLast());
    if (host.network() != null) {
      out.printf(
          "  network:      %s%s (%s)%n",
          host.network().mode(),
          host.network().bridge() == null
              ? ""
              : " on " + host.network().bridge() + " at " + host.network().address(),
          host.network().reason());
    }
    out.printf("  journal:      %s%n", journal(host.journal()));
    if (host.toolchains().isEmpty()) {
      out.println("  toolchains:   none");
    } else {
      out.println("  toolchains:");
      host.toolchains()
          .forEach(t -> out.printf("    %-12s %s (%s)%n", t.name(), t.id(), t.source()));
    }
    if (host.bootstrapped() != null) {
      out.printf(
          "  bootstrapped: %d state(s), %d stale, %s on disk%n",
          host.bootstrapped().states(),
          host.bootstrapped().stale(),
          Format.bytes(host.bootstrapped().diskBytes()));
    }
    out.printf("  root:         %s%n", host.root());
    out.printf("  state:        %s%n", host.stateDir());
    out.println("  versions:");
    host.versions().forEach((k, v) -> out.printf("    %-10s %s%n", k, v));
    out.flush();
    return ExitCode.OK;
  }

  /** "ok", or how far the journal lags behind and why. */
  static String journal(HostInfo.Journal journal) {
    if (journal == null) {
      return "not reported by this daemon";
    }
    if (journal.unwrittenRecords() == 0 && journal.failedWrites() == 0) {
      return "ok";
    }
    return journal.unwrittenRecords()
        + " record(s) not written (retried), "
        + journal.failedWrites()
        + " failed write(s); last error at "
        + Format.time(journal.lastErrorAt())
        + ": "
        + journal.lastError();
  }
}
