package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.client.wire.FleetInstanceView;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.client.wire.InstanceView;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * {@code buildhost fleet hosts|instances|reboots}: the fleet the daemon is in, as its etcd records
 * show it (doc/fleet.md). Any daemon of the fleet answers for all of it.
 */
final class FleetCommand implements Runnable {

  final CommandSpec spec;

  FleetCommand() {
    spec = CommandSpecs.command(this, "fleet");
    spec.usageMessage()
        .description(
            "Shows the fleet this host's daemon is in (hosts sharing an etcd cluster): its hosts,"
                + " their instances, and who holds or waits for a reboot slot.")
        .footer(
            "%nExample:",
            "  buildhost fleet hosts",
            "  buildhost fleet reboots --json",
            ExitCode.HELP,
            "  (3 also when the daemon is in no fleet, 5 when its etcd does not answer)");
    for (ClientCommand sub : List.of(new Hosts(), new Instances(), new Reboots())) {
      spec.addSubcommand(sub.spec.name(), CommandSpecs.commandLine(sub.spec));
    }
  }

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(),
        "Missing a fleet command: hosts, instances or reboots; see 'buildhost fleet --help'.");
  }

  static final class Hosts extends ClientCommand {

    Hosts() {
      super("hosts");
      description(
          "Lists the fleet's hosts: capacity, running instances, draining, OS build and versions.");
      footer("%nExample:", "  buildhost fleet hosts", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      List<FleetHostView> hosts = client.fleetHosts();
      if (json()) {
        printJson(hosts);
        return ExitCode.OK;
      }
      Table table =
          new Table(
              "HOST",
              "ACTIVE",
              "RUNNING",
              "DRAINING",
              "BUILDHOST",
              "OS BUILD",
              "KERNEL",
              "UPDATED");
      for (FleetHostView h : hosts) {
        table.row(
            h.host(),
            h.info().capacity().active() + "/" + h.info().capacity().maxInstances(),
            h.instancesByState().getOrDefault(InstanceView.State.RUNNING.name(), 0),
            h.info().draining() ? "yes" : "no",
            h.info().version(),
            h.buildId(),
            h.info().versions().get("kernel"),
            Format.time(h.updatedAt()));
      }
      table.print(out());
      out().printf("%n%d host(s)%n", hosts.size());
      out().flush();
      return ExitCode.OK;
    }
  }

  static final class Instances extends ClientCommand {

    Instances() {
      super("instances");
      description("Lists the instances of every host of the fleet, with their host.");
      footer("%nExample:", "  buildhost fleet instances", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      List<FleetInstanceView> instances = client.fleetInstances();
      if (json()) {
        printJson(instances);
        return ExitCode.OK;
      }
      Table table = new Table("HOST", "ID", "MACHINE", "REVISION", "STATE", "TFTP", "CREATED");
      for (FleetInstanceView fi : instances) {
        InstanceView i = fi.instance();
        table.row(
            fi.host(),
            i.id(),
            i.machine(),
            i.revision(),
            Format.state(i),
            i.tftpPort(),
            Format.time(i.createdAt()));
      }
      table.print(out());
      out().printf("%n%d instance(s)%n", instances.size());
      out().flush();
      return ExitCode.OK;
    }
  }

  static final class Reboots extends ClientCommand {

    Reboots() {
      super("reboots");
      description(
          "Shows the fleet's reboot slots: who holds one (since when, draining or rebooting) and"
              + " who waits for one, in the order they get it.");
      footer("%nExample:", "  buildhost fleet reboots", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      FleetRebootsView reboots = client.fleetReboots();
      if (json()) {
        printJson(reboots);
        return ExitCode.OK;
      }
      PrintWriter out = out();
      out.printf(
          "%d of %d reboot slot(s) held; a slot whose host has not come back is freed after %s%n%n",
          reboots.holders().size(),
          reboots.slots(),
          Format.duration(Duration.ofSeconds(reboots.slotTimeoutSeconds())));
      Table holders = new Table("HOST", "PHASE", "SINCE", "REBOOTED", "FREED AT", "REASON");
      for (FleetRebootsView.Holder h : reboots.holders()) {
        holders.row(
            h.host(),
            h.phase(),
            Format.time(h.since()),
            Format.time(h.rebootingSince()),
            Format.time(h.expiresAt()),
            h.reason());
      }
      holders.print(out);
      out.printf("%n%d host(s) waiting%n", reboots.waiters().size());
      if (!reboots.waiters().isEmpty()) {
        Table waiters = new Table("#", "HOST", "SINCE", "REASON");
        for (FleetRebootsView.Waiter w : reboots.waiters()) {
          waiters.row(w.position(), w.host(), Format.time(w.since()), w.reason());
        }
        waiters.print(out);
      }
      out.flush();
      return ExitCode.OK;
    }
  }
}
