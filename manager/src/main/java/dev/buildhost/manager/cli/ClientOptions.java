package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.DaemonEndpoint;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How a verb finds the daemon, and whether it prints JSON: options every client verb has, mixed
 * into each through {@link ClientCommand}. They are not inherited from the top command, where
 * {@code --root} would clash with the daemon's and the TFTP server's own {@code --root}.
 */
public final class ClientOptions {

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

  /**
   * The state folder: a flag given on the command line (--state-dir, else --root's) wins over
   * $BUILDHOST_STATE_DIR, which wins over the default root's ({@link DaemonEndpoint#stateDir}).
   */
  Path stateDir() {
    return DaemonEndpoint.stateDir(stateDir, root, System.getenv());
  }

  ApiClient client() {
    return ApiClient.forStateDir(stateDir());
  }
}
