package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.DaemonEndpoint;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * How a verb finds the daemon, and whether it prints JSON: options every client verb has. They
 * are inherited ({@link ScopeType.INHERIT}), so they may be given before the verb
 * ({@code buildhost --state-dir DIR list}) or after it.
 */
public final class ClientOptions {

  @Option(names = "--state-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
      description = "the daemon's state folder (default: <root>/state with --root, else $"
          + DaemonEndpoint.STATE_DIR_ENV + ", else /state/buildhost)")
  Path stateDir;

  @Option(names = "--root", paramLabel = "DIR", scope = ScopeType.INHERIT,
      description = "the daemon's storage root, to find its state folder")
  Path root;

  @Option(names = "--json", scope = ScopeType.INHERIT, description = "print JSON for scripts instead of tables")
  boolean json;

  /**
   * The state folder: a flag given on the command line (--state-dir, else --root's) wins over
   * $BUILDHOST_STATE_DIR, which wins over the default root's.
   */
  Path stateDir() {
    return DaemonEndpoint.stateDir(stateDir, root, System.getenv());
  }

  ApiClient client() {
    return ApiClient.forStateDir(stateDir());
  }
}
