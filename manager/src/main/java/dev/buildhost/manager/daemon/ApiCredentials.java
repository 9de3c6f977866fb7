package dev.buildhost.manager.daemon;

import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.manager.api.Json;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

/**
 * The files in the state folder through which the CLI finds the daemon: {@code api-token} (the
 * bearer token, made once, readable by its owner only) and {@code api.json} (the URL, written at
 * every start, removed at a clean exit).
 */
public final class ApiCredentials {

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private ApiCredentials() {
  }

  /** The token in {@code stateDir/api-token}; made from 32 random bytes on the first start. */
  public static String token(Path stateDir) throws IOException {
    Path file = stateDir.resolve(DaemonEndpoint.TOKEN_FILE);
    Files.createDirectories(stateDir);
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String fresh = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      Files.writeString(file, fresh + "\n", StandardCharsets.US_ASCII);
      return fresh;
    } catch (FileAlreadyExistsException e) {
      String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (token.length() < 16) {
        throw new IOException(file + " holds no usable token (fewer than 16 characters): delete it, and a new "
            + "one is made at the next start");
      }
      if (!Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
        Files.setPosixFilePermissions(file, OWNER_ONLY); // someone loosened it: the token is a secret
      }
      return token;
    }
  }

  /** Writes {@code stateDir/api.json} atomically: a client never reads half of it. */
  public static void publish(Path stateDir, URI url) throws IOException {
    Path file = stateDir.resolve(DaemonEndpoint.ENDPOINT_FILE);
    Path temp = Files.createTempFile(stateDir, ".api.json", ".tmp");
    try {
      Files.write(temp, Json.MAPPER.writeValueAsBytes(Map.of("url", url.toString())));
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Removes {@code api.json}: the CLI then says no daemon runs instead of trying a dead port. */
  public static void withdraw(Path stateDir) throws IOException {
    Files.deleteIfExists(stateDir.resolve(DaemonEndpoint.ENDPOINT_FILE));
  }
}
