package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.ManifestView;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** The verbs about the machine library: list, list-images, image-status. */
final class MachineCommands {

  private MachineCommands() {}

  static String type(MachineView machine) {
    return machine.type() == null ? "-" : machine.type().manifestValue();
  }

  /** The machine's bootstrapped states in a word: "2 (1 current)" or "-". */
  static String bootstrapped(MachineView machine) {
    if (machine.bootstrapped().isEmpty()) {
      return "-";
    }
    long current =
        machine.bootstrapped().stream().filter(s -> "current".equals(s.status())).count();
    return machine.bootstrapped().size() + " (" + current + " current)";
  }

  static final class ListMachines extends ClientCommand {

    ListMachines() {
      super("list");
      description(
          "Lists the machines of the library: type, revision in service, revisions, problems.");
      footer(
          "%nExample:",
          "  buildhost list", "  buildhost list --json | jq '.[].name'", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      List<MachineView> machines = client.machines();
      if (json()) {
        printJson(machines);
        return ExitCode.OK;
      }
      Table table =
          new Table("MACHINE", "TYPE", "IN SERVICE", "REVISIONS", "PROBLEMS", "BOOTSTRAPPED");
      for (MachineView m : machines) {
        table.row(
            m.name(),
            type(m),
            m.inService(),
            m.revisions().size(),
            m.problems().isEmpty()
                ? "-"
                : m.problems().size() + " (buildhost image-status " + m.name() + ")",
            bootstrapped(m));
      }
      table.print(out());
      out().printf("%n%d machine(s)%n", machines.size());
      return ExitCode.OK;
    }
  }

  static final class ListImages extends ClientCommand {

    ListImages() {
      super("list-images");
      description("Lists every revision (image) of every machine, and which one is in service.");
      footer("%nExample:", "  buildhost list-images", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      List<MachineView> machines = client.machines();
      if (json()) {
        printJson(machines.stream().flatMap(m -> m.revisions().stream()).toList());
        return ExitCode.OK;
      }
      Table table = new Table("IMAGE", "MACHINE", "TYPE", "IN SERVICE", "RAM", "CPUS", "FOLDER");
      for (MachineView m : machines) {
        for (MachineView.RevisionView r : m.revisions()) {
          ManifestView manifest = r.manifest();
          table.row(
              m.name() + "-" + r.version(),
              m.name(),
              manifest.type().manifestValue(),
              r.inService() ? "yes" : "no",
              manifest.ramMinimumMib() == null ? null : manifest.ramMinimumMib() + "M",
              manifest.cpus(),
              r.dir());
        }
      }
      table.print(out());
      return ExitCode.OK;
    }
  }

  static final class ImageStatus extends ClientCommand {
    String name;

    ImageStatus() {
      super("image-status");
      description(
          "Shows one machine: its revision in service, its manifest, its revisions and problems.");
      footer("%nExample:", "  buildhost image-status sample-vm", ExitCode.HELP);
      parameter(0, "NAME", "the machine", String.class, v -> name = v);
    }

    @Override
    int run(ApiClient client) throws Exception {
      MachineView machine = client.machine(name);
      if (json()) {
        printJson(machine);
        return ExitCode.OK;
      }
      PrintWriter out = out();
      out.println(machine.name());
      out.printf("  type:       %s%n", type(machine));
      out.printf(
          "  in service: %s%n",
          machine.inService() == null
              ? "none (no usable <name>-<P> symlink)"
              : machine.name() + "-" + machine.inService());
      ManifestView manifest = machine.inServiceManifest();
      if (manifest != null) {
        field(out, "summary", manifest.summary());
        field(out, "id", manifest.id());
        field(out, "role", manifest.role());
        field(
            out,
            "ram",
            manifest.ramMinimumMib() == null
                ? null
                : manifest.ramMinimumMib()
                    + " MiB"
                    + (manifest.ramMaximumMib() == null
                        ? ""
                        : " (max " + manifest.ramMaximumMib() + " MiB)"));
        field(out, "cpus", manifest.cpus());
        field(out, "disk", manifest.disk());
        field(out, "kernel", manifest.kernel());
        field(out, "initrd", manifest.initrd());
        field(out, "cmdline", manifest.cmdline());
        field(out, "image", manifest.image());
        field(out, "command", manifest.command());
      }
      out.println("  revisions:");
      for (MachineView.RevisionView r : machine.revisions()) {
        out.printf("    %s%s  %s%n", r.version(), r.inService() ? " *" : "  ", r.dir());
      }
      if (!machine.bootstrapped().isEmpty()) {
        out.println("  bootstrapped:");
        for (MachineView.BootstrappedView b : machine.bootstrapped()) {
          out.printf(
              "    %-7s %s  toolchain %s id %s%s%s%n",
              b.status(),
              b.id(),
              b.toolchain(),
              b.toolchainId(),
              b.image() == null ? "" : "  image " + b.image(),
              b.inUse().isEmpty() ? "" : "  used by " + String.join(", ", b.inUse()));
        }
      }
      if (!machine.problems().isEmpty()) {
        out.println("  problems:");
        machine.problems().forEach(p -> out.println("    " + p));
      }
      out.flush();
      return ExitCode.OK;
    }

    private static void field(PrintWriter out, String name, Object value) {
      if (value != null) {
        out.printf("  %-11s %s%n", name.toLowerCase(Locale.ROOT) + ":", value);
      }
    }
  }
}
