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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ApiCredentialsTest {

  @TempDir Path state;

  @Test
  void theTokenIsMadeOnceReadableByItsOwnerOnly() throws Exception {
    String token = ApiCredentials.token(state);
    Path file = state.resolve(DaemonEndpoint.TOKEN_FILE);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(43, token.length(), "32 random bytes in unpadded base64url");
    assertEquals(token, ApiCredentials.token(state), "the token survives restarts");
    assertNotEquals(
        token, ApiCredentials.token(state.resolve("other")), "each state folder has its own");
  }

  @Test
  void aLoosenedTokenFileIsTightenedAgain() throws Exception {
    ApiCredentials.token(state);
    Path file = state.resolve(DaemonEndpoint.TOKEN_FILE);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    ApiCredentials.token(state);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
  }

  /**
   * An older version created the file, then wrote the token: a crash between the two left an empty
   * file (or a torn one), and every later start refused it until someone deleted it.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "\n",
        "   \n",
        "abcdefgh",
        "abcdefghijklmno\n",
        "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"
            + "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000",
        "tokenwith\u0001controlbytes-inside"
      })
  void aTokenFileLeftEmptyOrTornByACrashIsReplacedByAFreshToken(String debris) throws Exception {
    Path file = state.resolve(DaemonEndpoint.TOKEN_FILE);
    Files.writeString(file, debris, StandardCharsets.ISO_8859_1);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    String token = ApiCredentials.token(state);

    assertEquals(43, token.length());
    assertEquals(token + "\n", Files.readString(file));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(token, ApiCredentials.token(state), "the fresh token is kept from then on");
    assertEquals(
        List.of(DaemonEndpoint.TOKEN_FILE),
        names(state),
        "nothing else is left in the state folder");
  }

  @Test
  void aTemporaryTokenFileLeftByACrashIsRemovedAndNeverUsed() throws Exception {
    Path leftover = state.resolve(".api-token.12345.tmp");
    Files.writeString(leftover, "x".repeat(43) + "\n");
    String token = ApiCredentials.token(state);
    assertNotEquals("x".repeat(43), token);
    assertEquals(List.of(DaemonEndpoint.TOKEN_FILE), names(state));
  }

  @Test
  void aTokenFileThatIsNotAFileIsRefusedWithWhatToDo() throws Exception {
    Files.createSymbolicLink(state.resolve(DaemonEndpoint.TOKEN_FILE), Path.of("/etc/hostname"));
    IOException e = assertThrows(IOException.class, () -> ApiCredentials.token(state));
    assertTrue(
        e.getMessage()
            .contains(
                state.resolve(DaemonEndpoint.TOKEN_FILE) + " is not a regular file: move it away"),
        e.getMessage());
  }

  @Test
  void anOperatorsOwnTokenIsKept() throws Exception {
    Files.writeString(state.resolve(DaemonEndpoint.TOKEN_FILE), "  my-own-token-of-20c \n");
    assertEquals("my-own-token-of-20c", ApiCredentials.token(state));
  }

  private static List<String> names(Path dir) throws IOException {
    try (var files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theClientFindsThePublishedUrlAndWithdrawnMeansNotRunning() throws Exception {
    String token = ApiCredentials.token(state);
    ApiCredentials.publish(state, URI.create("http://127.0.0.1:1234"));
    assertEquals(URI.create("http://127.0.0.1:1234"), ApiClient.forStateDir(state).base());
    try (var files = Files.list(state)) {
      assertFalse(
          files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")),
          "no temporary file stays");
    }
    ApiCredentials.withdraw(state);
    ApiClientException e =
        assertThrows(ApiClientException.class, () -> ApiClient.forStateDir(state));
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    assertTrue(e.hint().contains("buildhost daemon"), e.hint());
    assertFalse(token.isEmpty());
  }
}
