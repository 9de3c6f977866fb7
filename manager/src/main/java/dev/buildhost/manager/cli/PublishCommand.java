package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.PublishBody;
import dev.buildhost.client.wire.PublishView;

/**
 * {@code buildhost publish}: turns the kept disk of a stopped instance into a new revision of a
 * machine.
 */
final class PublishCommand extends ClientCommand {

  String id;

  String revision;

  boolean service;

  PublishCommand() {
    super("publish");
    description(
        "Publishes the disk of a stopped instance as a new revision folder NAME-P.R of machine NAME"
            + " (made when it does not exist): the instance's manifest copied, a VM's disk flattened"
            + " into a standalone disk.qcow2, a container's image saved as image.tar, the folder"
            + " read-only.",
        "The instance must have been started with `buildhost start --keep`, which keeps its disk"
            + " once it stopped until it is deleted. The NAME-P symlink is left alone unless"
            + " --service is given.");
    footer(
        "%nExample:",
        "  id=$(buildhost start sample-vm --keep --put task.manifest=prepare.manifest)",
        "  buildhost logs --follow \"$id\"",
        "  buildhost publish \"$id\" sample-vm-1.1 --service",
        ExitCode.HELP);
    parameter(0, "ID", "the stopped instance", String.class, v -> id = v);
    parameter(
        1, "NAME-P.R", "the new revision, e.g. sample-vm-1.1", String.class, v -> revision = v);
    flag(
        "--service",
        "put the new revision into service (swap the NAME-P symlink to it)",
        v -> service = v);
  }

  @Override
  int run(ApiClient client) throws Exception {
    PublishView published = client.publish(id, new PublishBody(revision, service));
    if (json()) {
      printJson(published);
      return ExitCode.OK;
    }
    out()
        .println(
            "published "
                + published.machine()
                + "-"
                + published.revision()
                + " in "
                + published.folder()
                + (published.inService() ? " (in service)" : " (not in service)"));
    out().flush();
    return ExitCode.OK;
  }
}
