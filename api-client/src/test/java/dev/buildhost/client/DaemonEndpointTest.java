package dev.buildhost.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DaemonEndpointTest {

  @TempDir Path state;

  @Test
  void theStateFolderComesFromTheFlagThenTheRootThenTheEnvironmentThenTheDefault() {
    Map<String, String> env = Map.of(DaemonEndpoint.STATE_DIR_ENV, "/from/env");
    assertEquals(Path.of("/flag"), DaemonEndpoint.stateDir(Path.of("/flag"), Path.of("/srv"), env));
    assertEquals(Path.of("/srv/state"), DaemonEndpoint.stateDir(null, Path.of("/srv"), env));
    assertEquals(
        Path.of("/state/buildhost"), DaemonEndpoint.stateDir(null, Path.of("/build"), env));
    assertEquals(Path.of("/from/env"), DaemonEndpoint.stateDir(null, null, env));
    assertEquals(Path.of("/state/buildhost"), DaemonEndpoint.stateDir(null, null, Map.of()));
    assertEquals(
        Path.of("/state/buildhost"),
        DaemonEndpoint.stateDir(null, null, Map.of(DaemonEndpoint.STATE_DIR_ENV, " ")));
  }

  @Test
  void aRunningDaemonIsFoundWithItsToken() throws Exception {
    Files.writeString(state.resolve("api.json"), "{\"url\": \"http://127.0.0.1:7346\"}");
    Files.writeString(state.resolve("api-token"), "s3cret-token-0123456789\n");
    DaemonEndpoint endpoint = DaemonEndpoint.locate(state);
    assertEquals(URI.create("http://127.0.0.1:7346"), endpoint.url());
    assertEquals("s3cret-token-0123456789", endpoint.token());
    assertFalse(endpoint.toString().contains("s3cret"), "the token stays out of logs: " + endpoint);
  }

  @Test
  void noApiJsonMeansNoDaemonRunsThere() {
    ApiClientException e =
        assertThrows(ApiClientException.class, () -> DaemonEndpoint.locate(state));
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertTrue(
        e.getMessage().contains(state.resolve("api.json") + " does not exist"), e.getMessage());
    assertTrue(e.hint().contains("buildhost daemon"), e.hint());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{not json|cannot read",
        "{}|is not an http:// URL",
        "{\"url\": \"file:///etc/passwd\"}|'file:///etc/passwd' is not an http:// URL",
        "{\"url\": \"http://[bad\"}|cannot read",
        "[]|is not an http:// URL"
      })
  void anUnusableApiJsonIsNamed(String content, String message) throws Exception {
    Files.writeString(state.resolve("api.json"), content);
    Files.writeString(state.resolve("api-token"), "token-0123456789abcdef");
    ApiClientException e =
        assertThrows(ApiClientException.class, () -> DaemonEndpoint.locate(state));
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertTrue(
        e.getMessage().contains(message) && e.getMessage().contains("api.json"), e.getMessage());
  }

  @Test
  void aMissingTokenFileIsNamedWithWhatToDo() throws Exception {
    Files.writeString(state.resolve("api.json"), "{\"url\": \"http://127.0.0.1:7346\"}");
    ApiClientException e =
        assertThrows(ApiClientException.class, () -> DaemonEndpoint.locate(state));
    assertTrue(
        e.getMessage().contains("cannot read the API token " + state.resolve("api-token")),
        e.getMessage());
    assertTrue(e.hint().contains("the user that runs the daemon"), e.hint());
  }
}
