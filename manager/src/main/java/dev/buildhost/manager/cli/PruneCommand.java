package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.PruneView;

/**
 * {@code buildhost prune}: removes the stale bootstrapped states no instance runs on, and the
 * images of deleted revisions.
 */
final class PruneCommand extends ClientCommand {

  PruneCommand() {
    super("prune");
    description(
        "Removes the stale bootstrapped states (made for an older toolchain id or machine revision)"
            + " that no instance runs on, and the images of deleted machine revisions that no"
            + " container uses, and prints what it removed.");
    footer("%nExample:", "  buildhost prune", ExitCode.HELP);
  }

  @Override
  int run(ApiClient client) throws Exception {
    PruneView pruned = client.prune();
    if (json()) {
      printJson(pruned);
      return ExitCode.OK;
    }
    if (pruned.removed().isEmpty() && pruned.removedImages().isEmpty()) {
      out().println("nothing to prune");
    }
    pruned.removed().forEach(id -> out().println("removed " + id));
    pruned.removedImages().forEach(tag -> out().println("removed image " + tag));
    out().flush();
    return ExitCode.OK;
  }
}
