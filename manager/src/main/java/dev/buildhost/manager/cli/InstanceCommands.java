package dev.buildhost.manager.cli;

import dev.buildhost.manager.api.ApiClient;
import dev.buildhost.manager.api.ApiClientException;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** The verbs about instances: instances, status, show, poweroff, terminate, delete. */
final class InstanceCommands {

  private InstanceCommands() {
  }

  @Command(name = "instances", mixinStandardHelpOptions = true,
      description = "Lists the instances: running ones and stopped ones not yet deleted.",
      footer = {"%nExample:", "  buildhost instances", ExitCode.HELP})
  static final class ListInstances extends ClientCommand {
    @Override
    int run(ApiClient client) throws Exception {
      List<Instance> instances = client.instances();
      if (json()) {
        printJson(instances);
        return ExitCode.OK;
      }
      Table table = new Table("ID", "MACHINE", "REVISION", "STATE", "TFTP", "CREATED", "RUNTIME");
      for (Instance i : instances) {
        table.row(i.id(), i.machine(), i.revision(), Format.state(i), i.tftpPort(), Format.time(i.createdAt()),
            Format.runtime(i));
      }
      table.print(out());
      out().printf("%n%d instance(s)%n", instances.size());
      return ExitCode.OK;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Shows an instance for people: state, times, TFTP port, files, end reason.",
      footer = {"%nExample:", "  buildhost status sample-vm-20260101-120000-1a2b", ExitCode.HELP})
  static final class Status extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "the instance")
    String id;

    @Override
    int run(ApiClient client) throws Exception {
      Instance i = client.instance(id);
      List<FileEntry> files = client.files(id);
      if (json()) {
        printJson(java.util.Map.of("instance", i, "files", files));
        return ExitCode.OK;
      }
      PrintWriter out = out();
      out.println(i.id() + " - " + i.machine() + " " + i.revision() + " (" + i.type() + ")");
      out.printf("    state: %s%n", Format.state(i));
      out.printf("  created: %s%n", Format.time(i.createdAt()));
      out.printf("  running: %s%n", Format.time(i.runningAt()));
      out.printf("  stopped: %s%n", Format.time(i.stoppedAt()));
      out.printf("  runtime: %s%n", Format.runtime(i));
      out.printf("     tftp: port %d (writable folder of this instance)%n", i.tftpPort());
      if (i.message() != null) {
        out.printf("  message: %s%n", i.message());
      }
      out.printf("    files: %s%n", files.isEmpty() ? "none" : "");
      for (FileEntry f : files) {
        out.printf("           %-24s %10d bytes  %s%n", f.name(), f.size(), Format.time(f.modified()));
      }
      out.flush();
      return ExitCode.OK;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Shows an instance's properties as Name=Value lines, for scripts.",
      footer = {"%nExample:", "  buildhost show sample-vm-20260101-120000-1a2b | grep ^State=", ExitCode.HELP})
  static final class Show extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "the instance")
    String id;

    @Override
    int run(ApiClient client) throws Exception {
      Instance i = client.instance(id);
      if (json()) {
        printJson(i);
        return ExitCode.OK;
      }
      PrintWriter out = out();
      out.println("Id=" + i.id());
      out.println("Machine=" + i.machine());
      out.println("Revision=" + i.revision());
      out.println("Type=" + i.type());
      out.println("State=" + i.state());
      out.println("EndReason=" + (i.endReason() == null ? "" : i.endReason()));
      out.println("ExitCode=" + (i.exitCode() == null ? "" : i.exitCode()));
      out.println("TftpPort=" + i.tftpPort());
      out.println("CreatedAt=" + (i.createdAt() == null ? "" : i.createdAt()));
      out.println("RunningAt=" + (i.runningAt() == null ? "" : i.runningAt()));
      out.println("StoppedAt=" + (i.stoppedAt() == null ? "" : i.stoppedAt()));
      out.println("Message=" + (i.message() == null ? "" : i.message()));
      out.flush();
      return ExitCode.OK;
    }
  }

  /** A verb applied to several instances; the exit code is the first failure's. */
  abstract static class OnEach extends ClientCommand {
    @Parameters(paramLabel = "ID", arity = "1..*", description = "the instances")
    List<String> ids;

    abstract String done();

    abstract Instance apply(ApiClient client, String id);

    @Override
    int run(ApiClient client) throws Exception {
      int exit = ExitCode.OK;
      List<Object> results = new ArrayList<>();
      for (String id : ids) {
        try {
          Instance instance = apply(client, id);
          results.add(instance == null ? java.util.Map.of("id", id, "deleted", true) : instance);
          if (!json()) {
            out().println(id + ": " + done() + (instance == null ? "" : " (" + Format.state(instance) + ")"));
          }
        } catch (ApiClientException e) {
          if (e.status() == ApiClientException.UNREACHABLE) {
            throw e;
          }
          err().println("buildhost " + spec.name() + ": " + id + ": " + e.getMessage()
              + (e.hint() == null ? "" : "\n  hint: " + e.hint()));
          exit = exit == ExitCode.OK ? ExitCode.of(e) : exit;
        }
      }
      if (json()) {
        printJson(results);
      }
      out().flush();
      err().flush();
      return exit;
    }
  }

  @Command(name = "poweroff", mixinStandardHelpOptions = true,
      description = "Asks instances to shut down (ACPI / SIGTERM); they are killed after the poweroff grace.",
      footer = {"%nExample:", "  buildhost poweroff sample-vm-20260101-120000-1a2b", ExitCode.HELP})
  static final class Poweroff extends OnEach {
    @Override
    String done() {
      return "powering off";
    }

    @Override
    Instance apply(ApiClient client, String id) {
      return client.poweroff(id);
    }
  }

  @Command(name = "terminate", mixinStandardHelpOptions = true,
      description = "Stops instances at once (destroy / SIGKILL).",
      footer = {"%nExample:", "  buildhost terminate sample-vm-20260101-120000-1a2b", ExitCode.HELP})
  static final class Terminate extends OnEach {
    @Override
    String done() {
      return "terminated";
    }

    @Override
    Instance apply(ApiClient client, String id) {
      return client.terminate(id);
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Deletes stopped instances: their folder, files and console log.",
      footer = {"%nExample:", "  buildhost delete sample-vm-20260101-120000-1a2b", ExitCode.HELP})
  static final class Delete extends OnEach {
    @Override
    String done() {
      return "deleted";
    }

    @Override
    Instance apply(ApiClient client, String id) {
      client.delete(id);
      return null;
    }
  }
}
