package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiJson;
import dev.buildhost.client.wire.InstanceEventView;

/** {@code buildhost events}: the lifecycle events as they happen. */
final class EventsCommand extends ClientCommand {

  String instance;

  EventsCommand() {
    super("events");
    description(
        "Prints lifecycle events as they happen (one line each; JSON lines with --json) until "
            + "interrupted or the daemon stops.");
    footer(
        "%nExample:",
        "  buildhost events --instance sample-vm-20260101-120000-1a2b", ExitCode.HELP);
    option("--instance", "ID", "only the events of this instance", v -> instance = v);
  }

  @Override
  int run(ApiClient client) throws Exception {
    try (ApiClient.Events events = client.events(instance)) {
      while (events.hasNext()) {
        InstanceEventView event = events.next();
        out().println(json() ? ApiJson.MAPPER.writeValueAsString(event) : line(event));
        out().flush();
      }
    }
    err().println("buildhost events: the daemon closed the event stream");
    err().flush();
    return ExitCode.OK;
  }

  /** 12:00:03 RUNNING sample-vm-... RUNNING detail */
  static String line(InstanceEventView event) {
    String detail = event.detail() == null ? "" : "  " + event.detail();
    return Format.clock(event.time())
        + "  "
        + String.format("%-13s", event.kind())
        + "  "
        + event.instance().id()
        + "  "
        + Format.state(event.instance())
        + detail;
  }
}
