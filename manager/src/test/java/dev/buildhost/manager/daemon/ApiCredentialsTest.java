package dev.buildhost.manager.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.DaemonEndpoint;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiCredentialsTest {

  @TempDir
  Path state;

  @Test
  void theTokenIsMadeOnceReadableByItsOwnerOnly() throws Exception {
    String token = ApiCredentials.token(state);
    Path file = state.resolve(DaemonEndpoint.TOKEN_FILE);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(43, token.length(), "32 random bytes in unpadded base64url");
    assertEquals(token, ApiCredentials.token(state), "the token survives restarts");
    assertNotEquals(token, ApiCredentials.token(state.resolve("other")), "each state folder has its own");
  }

  @Test
  void aLoosenedTokenFileIsTightenedAgain() throws Exception {
    ApiCredentials.token(state);
    Path file = state.resolve(DaemonEndpoint.TOKEN_FILE);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    ApiCredentials.token(state);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
  }

  @Test
  void anEmptyTokenFileIsRefusedWithWhatToDo() throws Exception {
    Files.writeString(state.resolve(DaemonEndpoint.TOKEN_FILE), "\n");
    IOException e = assertThrows(IOException.class, () -> ApiCredentials.token(state));
    assertTrue(e.getMessage().contains("delete it"), e.getMessage());
  }

  @Test
  void theClientFindsThePublishedUrlAndWithdrawnMeansNotRunning() throws Exception {
    String token = ApiCredentials.token(state);
    ApiCredentials.publish(state, URI.create("http://127.0.0.1:1234"));
    assertEquals(URI.create("http://127.0.0.1:1234"), ApiClient.forStateDir(state).base());
    try (var files = Files.list(state)) {
      assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file stays");
    }
    ApiCredentials.withdraw(state);
    ApiClientException e = assertThrows(ApiClientException.class, () -> ApiClient.forStateDir(state));
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    assertTrue(e.hint().contains("buildhost daemon"), e.hint());
    assertFalse(token.isEmpty());
  }
}
