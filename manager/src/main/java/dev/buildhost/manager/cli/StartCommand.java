package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import java.util.Map;

/**
 * {@code buildhost start}: starts an instance; with {@code --wait} follows it to its end and exits
 * with the worker's status.
 */
final class StartCommand extends InstanceStartCommand {

  String machine;
  String bootstrapped;
  boolean keep;

  StartCommand() {
    super("start");
    description(
        "Starts an instance of a machine and prints its id.",
        "It starts from the machine's bootstrapped state for the current toolchain when there is one"
            + " (--bootstrapped auto); `required` refuses when there is none, `never` starts the bare"
            + " revision.",
        "With --wait it prints the instance's state changes as they happen, then the worker's result "
            + "(status and exit code from the result.manifest the worker uploaded, else the container's exit "
            + "code), and exits 0 when the worker succeeded, 1 when it failed or left no result.");
    footer(
        "%nExample:",
        "  buildhost start sample-container --put task.manifest=task.manifest --wait",
        "  buildhost start sample-vm --bootstrapped required --toolchain stable",
        "  buildhost start sample-vm --keep --put task.manifest=prepare.manifest",
        ExitCode.HELP);
    parameter(0, "MACHINE", "the machine to start", String.class, v -> machine = v);
    option(
        "--bootstrapped",
        "auto|required|never",
        "start from the machine's bootstrapped state: auto (when there is one, the default),"
            + " required (refuse when there is none) or never",
        v -> bootstrapped = v);
    flag(
        "--keep",
        "keep the guest's disk once it stopped, until the instance is deleted, so that"
            + " `buildhost publish` can make a new revision of it",
        v -> keep = v);
  }

  @Override
  InstanceView launch(ApiClient client, Long timeoutSeconds, Map<String, String> files) {
    return client.start(
        new StartBody(
            machine, timeoutSeconds, files, bootstrapped, toolchain, keep ? Boolean.TRUE : null));
  }
}
