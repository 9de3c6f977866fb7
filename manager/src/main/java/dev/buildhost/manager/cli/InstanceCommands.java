package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.wire.FileView;
import dev.buildhost.client.wire.InstanceView;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ParameterException;

/** The verbs about instances: instances, status, show, poweroff, terminate, delete. */
final class InstanceCommands {

  private InstanceCommands() {}

  static final class ListInstances extends ClientCommand {

    ListInstances() {
      super("instances");
      description("Lists the instances: running ones and stopped ones not yet deleted.");
      footer("%nExample:", "  buildhost instances", ExitCode.HELP);
    }

    @Override
    int run(ApiClient client) throws Exception {
      List<InstanceView> instances = client.instances();
      if (json()) {
        printJson(instances);
        return ExitCode.OK;
      }
      Table table = new Table("ID", "MACHINE", "REVISION", "STATE", "TFTP", "CREATED", "RUNTIME");
      int unknown = 0;
      for (InstanceView i : instances) {
        if (i.state() == InstanceView.State.UNKNOWN) {
          unknown++;
        }
        table.row(
            i.id(),
            i.machine(),
            i.revision(),
            Format.state(i),
            i.tftpPort(),
            Format.time(i.createdAt()),
            Format.runtime(i));
      }
      table.print(out());
      out().printf("%n%d instance(s)%n", instances.size());
      if (unknown > 0) {
        out()
            .printf(
                "%d UNKNOWN: the daemon cannot read their journal record and keeps guest, folders"
                    + " and port; 'buildhost status ID' says why, 'buildhost terminate ID' ends"
                    + " the guest, 'buildhost delete ID' removes them%n",
                unknown);
      }
      return ExitCode.OK;
    }
  }

  static final class Status extends ClientCommand {
    String id;

    Status() {
      super("status");
      description("Shows an instance for people: state, times, TFTP port, files, end reason.");
      footer("%nExample:", "  buildhost status sample-vm-20260101-120000-1a2b", ExitCode.HELP);
      parameter(0, "ID", "the instance", String.class, v -> id = v);
    }

    @Override
    int run(ApiClient client) throws Exception {
      InstanceView i = client.instance(id);
      List<FileView> files = client.files(id);
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
      if (i.startedFrom() != null) {
        out.printf("     from: bootstrapped state %s%n", i.startedFrom());
      }
      if (i.keep()) {
        out.printf(
            "     disk: %s%n",
            i.kept() != null
                ? "kept: " + Format.kept(i) + " (until it is deleted)"
                : i.stopped() ? "not kept (the message says why)" : "kept once it stopped");
      }
      if (i.message() != null) {
        out.printf("  message: %s%n", i.message());
      }
      out.printf("    files: %s%n", files.isEmpty() ? "none" : "");
      for (FileView f : files) {
        out.printf(
            "           %-24s %10d bytes  %s%n", f.name(), f.size(), Format.time(f.modified()));
      }
      out.flush();
      return ExitCode.OK;
    }
  }

  static final class Show extends ClientCommand {
    String id;

    List<String> properties = List.of();

    boolean valueOnly;

    Show() {
      super("show");
      description(
          "Shows an instance's properties as Name=Value lines, for scripts.",
          "As with machinectl show, -p limits the output to the named properties and --value prints "
              + "their values alone.");
      footer(
          "%nExample:",
          "  buildhost show sample-vm-20260101-120000-1a2b | grep ^State=",
          "  buildhost show -p State --value sample-vm-20260101-120000-1a2b",
          ExitCode.HELP);
      parameter(0, "ID", "the instance", String.class, v -> id = v);
      repeatable(
          new String[] {"-p", "--property"},
          "NAME",
          "show only this property (repeatable), e.g. State or EndReason",
          v -> properties = v);
      flag("--value", "print the values alone, without 'Name='", v -> valueOnly = v);
    }

    @Override
    int run(ApiClient client) throws Exception {
      InstanceView instance = client.instance(id);
      Map<String, Object> shown = properties(instance);
      for (String name : properties) {
        if (!shown.containsKey(name)) {
          throw new ParameterException(
              spec.commandLine(),
              "--property "
                  + name
                  + ": no such property; the properties are "
                  + String.join(", ", shown.keySet()));
        }
      }
      if (json()) {
        printJson(instance);
        return ExitCode.OK;
      }
      PrintWriter out = out();
      shown.forEach(
          (name, value) -> {
            if (properties.isEmpty() || properties.contains(name)) {
              String text = value == null ? "" : value.toString();
              out.println(valueOnly ? text : name + "=" + text);
            }
          });
      out.flush();
      return ExitCode.OK;
    }

    private static Map<String, Object> properties(InstanceView i) {
      Map<String, Object> shown = new LinkedHashMap<>();
      shown.put("Id", i.id());
      shown.put("Machine", i.machine());
      shown.put("Revision", i.revision());
      shown.put("Type", i.type());
      shown.put("State", i.state());
      shown.put("EndReason", i.endReason());
      shown.put("ExitCode", i.exitCode());
      shown.put("TftpPort", i.tftpPort());
      shown.put("CreatedAt", i.createdAt());
      shown.put("RunningAt", i.runningAt());
      shown.put("StoppedAt", i.stoppedAt());
      shown.put("Message", i.message());
      shown.put("StartedFrom", i.startedFrom());
      shown.put("Keep", i.keep() ? "yes" : "no");
      shown.put("Kept", Format.kept(i));
      return shown;
    }
  }

  /** A verb applied to several instances; the exit code is the first failure's. */
  abstract static class OnEach extends ClientCommand {
    List<String> ids;

    OnEach(String name) {
      super(name);
      parameters("ID", "the instances", v -> ids = v);
    }

    abstract String done();

    abstract InstanceView apply(ApiClient client, String id);

    @Override
    int run(ApiClient client) throws Exception {
      int exit = ExitCode.OK;
      List<Object> results = new ArrayList<>();
      for (String id : ids) {
        try {
          InstanceView instance = apply(client, id);
          results.add(instance == null ? java.util.Map.of("id", id, "deleted", true) : instance);
          if (!json()) {
            out()
                .println(
                    id
                        + ": "
                        + done()
                        + (instance == null ? "" : " (" + Format.state(instance) + ")"));
          }
        } catch (ApiClientException e) {
          if (e.status() == ApiClientException.UNREACHABLE) {
            throw e;
          }
          err()
              .println(
                  "buildhost "
                      + spec.name()
                      + ": "
                      + id
                      + ": "
                      + e.getMessage()
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

  static final class Poweroff extends OnEach {

    Poweroff() {
      super("poweroff");
      description(
          "Asks instances to shut down (ACPI / SIGTERM); they are killed after the poweroff grace.");
      footer("%nExample:", "  buildhost poweroff sample-vm-20260101-120000-1a2b", ExitCode.HELP);
    }

    @Override
    String done() {
      return "powering off";
    }

    @Override
    InstanceView apply(ApiClient client, String id) {
      return client.poweroff(id);
    }
  }

  static final class Terminate extends OnEach {

    Terminate() {
      super("terminate");
      description(
          "Stops instances at once (destroy / SIGKILL). For an UNKNOWN instance, removes the guest"
              + " with its id and keeps its folders.");
      footer("%nExample:", "  buildhost terminate sample-vm-20260101-120000-1a2b", ExitCode.HELP);
    }

    @Override
    String done() {
      return "terminated";
    }

    @Override
    InstanceView apply(ApiClient client, String id) {
      return client.terminate(id);
    }
  }

  static final class Delete extends OnEach {

    Delete() {
      super("delete");
      description(
          "Deletes stopped instances: their folder, files and console log. An UNKNOWN instance"
              + " goes with its guest, if one runs, and its unreadable journal record.");
      footer("%nExample:", "  buildhost delete sample-vm-20260101-120000-1a2b", ExitCode.HELP);
    }

    @Override
    String done() {
      return "deleted";
    }

    @Override
    InstanceView apply(ApiClient client, String id) {
      client.delete(id);
      return null;
    }
  }
}
