package dev.buildhost.manager.daemon;

import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.common.files.AtomicFiles;
import dev.buildhost.manager.api.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files in the state folder through which the CLI finds the daemon: {@code api-token} (the
 * bearer token, made once, readable by its owner only) and {@code api.json} (the URL, written at
 * every start, removed at a clean exit).
 *
 * <p>The token file is written whole or not at all: the token goes into a temporary file made with
 * mode 0600 in the same folder, which is synced and then renamed over the final name. A crash
 * therefore leaves either no token file or a complete one (and perhaps a hidden temporary file,
 * removed at the next start). A token file that holds no usable token (empty, too short, or bytes a
 * header cannot carry, as an interrupted older version could leave) is replaced by a fresh token,
 * with a warning naming the file: no client can hold a token the daemon never used.
 */
public final class ApiCredentials {

  /** Shorter tokens were never made by buildhost nor accepted by it. */
  static final int MIN_TOKEN_LENGTH = 16;

  /** A token file is a line; anything larger is not one. */
  private static final int MAX_TOKEN_FILE_BYTES = 4096;

  /** How {@link AtomicFiles} names its temporary files beside the token file. */
  private static final String TEMP_PREFIX = "." + DaemonEndpoint.TOKEN_FILE + ".";

  private static final String TEMP_SUFFIX = ".tmp";
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");
  private static final Logger LOG = LoggerFactory.getLogger(ApiCredentials.class);

  private ApiCredentials() {}

  /**
   * The token in {@code stateDir/api-token}; made from 32 random bytes on the first start, and
   * again when the file holds no usable token.
   *
   * @throws IOException the state folder or the token file cannot be read or written; the message
   *     names the file
   */
  public static String token(Path stateDir) throws IOException {
    Path file = stateDir.resolve(DaemonEndpoint.TOKEN_FILE);
    Files.createDirectories(stateDir);
    removeLeftoverTemporaryFiles(stateDir);
    String existing = readToken(file);
    if (existing != null) {
      if (!Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS).equals(OWNER_ONLY)) {
        Files.setPosixFilePermissions(
            file, OWNER_ONLY); // someone loosened it: the token is a secret
      }
      return existing;
    }
    String fresh = newToken();
    writeAtomically(file, fresh);
    return fresh;
  }

  /** The usable token in {@code file}, or null when there is none (after saying why). */
  private static String readToken(Path file) throws IOException {
    if (Files.isSymbolicLink(file) || (Files.exists(file) && !Files.isRegularFile(file))) {
      throw new IOException(
          file + " is not a regular file: move it away, and a new token is made at the next start");
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_TOKEN_FILE_BYTES + 1);
    } catch (NoSuchFileException e) {
      return null;
    }
    String problem = null;
    String token = new String(bytes, StandardCharsets.ISO_8859_1).strip();
    if (bytes.length > MAX_TOKEN_FILE_BYTES) {
      problem = "is larger than " + MAX_TOKEN_FILE_BYTES + " bytes";
    } else if (token.isEmpty()) {
      problem = "is empty";
    } else if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      problem = "holds bytes that are not printable ASCII (damaged?)";
    } else if (token.length() < MIN_TOKEN_LENGTH) {
      problem = "holds fewer than " + MIN_TOKEN_LENGTH + " characters (truncated?)";
    }
    if (problem == null) {
      return token;
    }
    LOG.warn("{} {}: it holds no usable token, so a new token replaces it", file, problem);
    return null;
  }

  private static String newToken() {
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  /**
   * With {@link AtomicFiles}: a temporary file {@code .api-token.<random>.tmp} (0600 from birth),
   * synced, renamed over {@code file}, folder synced.
   */
  private static void writeAtomically(Path file, String token) throws IOException {
    try {
      AtomicFiles.write(file, (token + "\n").getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw new IOException("cannot write the API token to " + file + ": " + e.getMessage(), e);
    }
  }

  /** Temporary token files that a crash left behind: each holds a token nobody uses. */
  private static void removeLeftoverTemporaryFiles(Path stateDir) throws IOException {
    try (DirectoryStream<Path> leftovers =
        Files.newDirectoryStream(stateDir, TEMP_PREFIX + "*" + TEMP_SUFFIX)) {
      for (Path leftover : leftovers) {
        Files.deleteIfExists(leftover);
      }
    }
  }

  /** Writes {@code stateDir/api.json} atomically: a client never reads half of it. */
  public static void publish(Path stateDir, URI url) throws IOException {
    AtomicFiles.write(
        stateDir.resolve(DaemonEndpoint.ENDPOINT_FILE),
        Json.MAPPER.writeValueAsBytes(Map.of("url", url.toString())));
  }

  /** Removes {@code api.json}: the CLI then says no daemon runs instead of trying a dead port. */
  public static void withdraw(Path stateDir) throws IOException {
    Files.deleteIfExists(stateDir.resolve(DaemonEndpoint.ENDPOINT_FILE));
  }
}
