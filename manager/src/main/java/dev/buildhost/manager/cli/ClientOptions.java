package dev.buildhost.manager.cli;

import dev.buildhost.manager.api.ApiClient;
import dev.buildhost.manager.config.ManagerConfig;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How a verb finds the daemon, and whether it prints JSON: options every client verb has. */
public final class ClientOptions {

  static final String STATE_DIR_ENV = "BUILDHOST_STATE_DIR";

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "the daemon's state folder (default: <root>/state with --root, else $" + STATE_DIR_ENV
          + ", else /state/buildhost)")
  Path stateDir;

  @Option(names = "--root", paramLabel = "DIR", description = "the daemon's storage root, to find its state folder")
  Path root;

  @Option(names = "--json", description = "print JSON for scripts instead of tables")
  boolean json;

  /**
   * The state folder: a flag given on the command line (--state-dir, else --root's) wins over
   * $BUILDHOST_STATE_DIR, which wins over the default root's.
   */
  Path stateDir() {
    if (stateDir != null) {
      return stateDir;
    }
    if (root != null) {
      return ManagerConfig.defaults(root.toAbsolutePath().normalize()).stateDir();
    }
    String env = System.getenv(STATE_DIR_ENV);
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return ManagerConfig.defaults(Path.of("/build")).stateDir();
  }

  ApiClient client() {
    return ApiClient.forStateDir(stateDir());
  }
}
