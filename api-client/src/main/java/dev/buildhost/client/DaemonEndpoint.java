package dev.buildhost.client;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where a daemon answers and the token it wants, as its state folder tells: {@code api.json} holds
 * {@code {"url": ...}} while the daemon runs (written at start, removed at a clean exit), {@code
 * api-token} the bearer token (readable by its owner only). This is the one way to find a daemon;
 * the CLI and any Java client use it.
 *
 * @param url the API's base URL, e.g. {@code http://127.0.0.1:7346/}
 * @param token the bearer token
 */
public record DaemonEndpoint(URI url, String token) {

  /** The file in the state folder that holds the API's URL. */
  public static final String ENDPOINT_FILE = "api.json";

  /** The file in the state folder that holds the bearer token. */
  public static final String TOKEN_FILE = "api-token";

  /** The environment variable that names the state folder when no flag does. */
  public static final String STATE_DIR_ENV = "BUILDHOST_STATE_DIR";

  /** The storage root a daemon has when none is given. */
  public static final Path DEFAULT_ROOT = Path.of("/build");

  /**
   * The state folder of a daemon with the storage root {@code root}: /state/buildhost for /build,
   * else root/state.
   */
  public static Path defaultStateDir(Path root) {
    Path normal = root.toAbsolutePath().normalize();
    return normal.equals(DEFAULT_ROOT) ? Path.of("/state/buildhost") : normal.resolve("state");
  }

  /**
   * The state folder to look in: {@code stateDir} if given, else the one of {@code root} if given,
   * else {@code $BUILDHOST_STATE_DIR} from {@code env}, else the default root's.
   */
  public static Path stateDir(Path stateDir, Path root, Map<String, String> env) {
    if (stateDir != null) {
      return stateDir;
    }
    if (root != null) {
      return defaultStateDir(root);
    }
    String fromEnv = env.get(STATE_DIR_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Path.of(fromEnv);
    }
    return defaultStateDir(DEFAULT_ROOT);
  }

  /**
   * The endpoint of the daemon running on {@code stateDir}.
   *
   * @throws ApiClientException with status {@link ApiClientException#UNREACHABLE} and a hint when
   *     no daemon runs there or its files cannot be read
   */
  public static DaemonEndpoint locate(Path stateDir) {
    URI url = url(stateDir);
    Path tokenFile = stateDir.resolve(TOKEN_FILE);
    try {
      return new DaemonEndpoint(url, Files.readString(tokenFile).strip());
    } catch (IOException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "cannot read the API token " + tokenFile + ": " + e,
          "run as the user that runs the daemon (the token file is readable by its owner only)");
    }
  }

  /**
   * The URL in the state folder's {@code api.json}, for a client that takes the token from
   * elsewhere.
   *
   * @throws ApiClientException with status {@link ApiClientException#UNREACHABLE} and a hint when
   *     no daemon runs there (its cause is then a {@link NoSuchFileException}) or api.json cannot
   *     be read
   */
  public static URI url(Path stateDir) {
    Path endpoint = stateDir.resolve(ENDPOINT_FILE);
    String hint =
        "start it with `buildhost daemon` (or name its state folder with --state-dir or "
            + STATE_DIR_ENV
            + ")";
    try {
      Object json = WireJson.readAny(Files.readString(endpoint));
      String text =
          json instanceof Map<?, ?> fields && fields.get("url") instanceof String u ? u : "";
      URI url = URI.create(text);
      if ((!"http".equals(url.getScheme()) && !"https".equals(url.getScheme()))
          || url.getHost() == null) {
        throw new IllegalArgumentException("its url '" + text + "' is not an http:// URL");
      }
      return url;
    } catch (NoSuchFileException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "cannot reach the buildhost daemon: "
              + endpoint
              + " does not exist, so no daemon runs on the state folder "
              + stateDir,
          hint,
          e);
    } catch (IOException | IllegalArgumentException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "cannot reach the buildhost daemon: cannot read " + endpoint + ": " + e.getMessage(),
          hint,
          e);
    }
  }

  /** Hides the token: a record's toString must not leak it into a log. */
  @Override
  public String toString() {
    return "DaemonEndpoint[url=" + url + ", token=(hidden)]";
  }
}
