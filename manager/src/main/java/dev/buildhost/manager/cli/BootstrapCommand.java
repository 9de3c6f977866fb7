package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.InstanceView;
import java.util.Map;

/**
 * {@code buildhost bootstrap}: starts a bootstrap instance of a machine; its success publishes the
 * machine's bootstrapped state for the toolchain.
 */
final class BootstrapCommand extends InstanceStartCommand {

  String machine;

  BootstrapCommand() {
    super("bootstrap");
    description(
        "Starts a bootstrap instance of the machine's revision in service for a toolchain and prints"
            + " its id. The task you --put tells the worker it is a bootstrap (the sample worker reads"
            + " `mode: bootstrap`).",
        "When it ends by itself with a successful result (result.manifest `status: success`; a"
            + " container's exit code 0), its disk becomes the machine's bootstrapped state, which"
            + " later starts run on. Anything else publishes nothing.",
        "With --wait it follows the instance and exits 0 only when the state was published.");
    footer(
        "%nExample:",
        "  buildhost bootstrap sample-vm --put task.manifest=bootstrap.manifest"
            + " --put toolchain.tar.gz=toolchain.tar.gz --wait",
        ExitCode.HELP);
    parameter(0, "MACHINE", "the machine to bootstrap", String.class, v -> machine = v);
  }

  @Override
  InstanceView launch(ApiClient client, Long timeoutSeconds, Map<String, String> files) {
    return client.bootstrap(machine, new BootstrapBody(toolchain, timeoutSeconds, files));
  }

  /** Published: the machine lists a state made by this instance. */
  @Override
  boolean succeeded(ApiClient client, InstanceView instance, boolean workerSucceeded) {
    return client.machine(machine).bootstrapped().stream()
        .anyMatch(state -> instance.id().equals(state.instance()));
  }
}
