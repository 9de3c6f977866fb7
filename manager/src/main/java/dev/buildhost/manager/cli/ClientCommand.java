package dev.buildhost.manager.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiJson;
import dev.buildhost.client.DaemonEndpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A verb that talks to the daemon through the API client alone: it finds the daemon and runs. What
 * the daemon refuses is thrown as it is; {@link ExitCode} (picocli's exception handler and
 * exit-code mapper, set by {@link BuildhostCommand#commandLine()}) prints it with its hint and
 * picks the documented exit code.
 *
 * <p>Its options (how to find the daemon, whether to print JSON) are every client verb's, declared
 * here rather than in a mixin: picocli reads a subclass's inherited fields anyway, and a mixin cost
 * each run one more annotation type to reflect on (bench/cli). They are not inherited from the top
 * command, where {@code --root} would clash with the daemon's and the TFTP server's own.
 */
abstract class ClientCommand implements Callable<Integer> {

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description =
          "the daemon's state folder (default: <root>/state with --root, else $"
              + DaemonEndpoint.STATE_DIR_ENV
              + ", else /state/buildhost)")
  Path stateDir;

  @Option(
      names = "--root",
      paramLabel = "DIR",
      description = "the daemon's storage root, to find its state folder")
  Path root;

  @Option(names = "--json", description = "print JSON for scripts instead of tables")
  boolean json;

  @Spec CommandSpec spec;

  /** Does the verb's work; returns the exit code. */
  abstract int run(ApiClient client) throws Exception;

  @Override
  public final Integer call() throws Exception {
    return run(ApiClient.forStateDir(stateDir()));
  }

  /**
   * The state folder: a flag given on the command line (--state-dir, else --root's) wins over
   * $BUILDHOST_STATE_DIR, which wins over the default root's ({@link DaemonEndpoint#stateDir}).
   */
  Path stateDir() {
    return DaemonEndpoint.stateDir(stateDir, root, System.getenv());
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  boolean json() {
    return json;
  }

  void printJson(Object value) throws JsonProcessingException {
    out().println(ApiJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value));
    out().flush();
  }
}
