package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.PruneView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Toolchains and bootstrapped states over real HTTP against a running daemon: the toolchain ids in
 * GET /v1/host, a required start without a state answering 409, bad input answering 400, prune, and
 * the metrics.
 */
class BootstrapApiTest {

  @TempDir Path root;
  private Daemon daemon;
  private ApiClient client;

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemons.start(root, ApiServer.Limits.DEFAULT);
    client = ApiClient.forStateDir(root.resolve("state"));
  }

  @AfterEach
  void stop() {
    daemon.close();
  }

  private String publish(String name, String content) throws Exception {
    Path folder = Files.createDirectories(root.resolve("tftp/toolchain").resolve(name));
    Path sums = Files.writeString(folder.resolve("toolchain.sha256"), content);
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(sums)));
  }

  @Test
  void theHostShowsEachToolchainWithTheIdOfItsChecksumFile() throws Exception {
    assertEquals(List.of(), client.host().toolchains());

    String id = publish("stable", "abc  gcc.tar.gz\n");

    HostInfo host = client.host();
    assertEquals(List.of(new HostInfo.ToolchainInfo("stable", id, "published")), host.toolchains());
    assertEquals(new HostInfo.Bootstrapped(0, 0, 0), host.bootstrapped());
  }

  @Test
  void aRequiredStartWithoutABootstrappedStateAnswers409NamingWhatToDo() throws Exception {
    String id = publish("stable", "abc  gcc.tar.gz\n");

    ApiClientException refused =
        assertThrows(
            ApiClientException.class,
            () ->
                client.start(new StartBody(TestDaemons.MACHINE, null, Map.of(), "required", null)));

    assertEquals(409, refused.status());
    assertTrue(refused.getMessage().contains("no bootstrapped state for toolchain stable"));
    assertTrue(refused.getMessage().contains(id), refused.getMessage());
    assertTrue(refused.getMessage().contains("bootstrap it first"), refused.getMessage());
    // auto starts the bare revision
    assertEquals(
        null,
        client
            .start(new StartBody(TestDaemons.MACHINE, 60L, Map.of(), "auto", null))
            .startedFrom());
  }

  @Test
  void anAutoStartNamingNoneOfSeveralToolchainsAnswers400OnceTheMachineHasAStateForOne()
      throws Exception {
    String stable = publish("stable", "abc  gcc.tar.gz\n");
    publish("staging", "def  gcc.tar.gz\n");
    assertEquals(
        null,
        client.start(new StartBody(TestDaemons.MACHINE, 60L, Map.of(), null, null)).startedFrom(),
        "no state for any toolchain: the bare revision, as any choice would start it");

    Path state =
        Files.createDirectories(
            root.resolve("state/bootstrapped")
                .resolve(TestDaemons.MACHINE)
                .resolve("1.0/stable")
                .resolve(stable));
    Files.writeString(
        state.resolve("state.json"),
        "{\"machine\": \""
            + TestDaemons.MACHINE
            + "\", \"version\": \"1.0\", \"type\": \"docker\", \"toolchain\": \"stable\","
            + " \"toolchainId\": \""
            + stable
            + "\", \"instance\": \"x\", \"image\": \"sha256:00\"}");

    ApiClientException refused =
        assertThrows(
            ApiClientException.class,
            () -> client.start(new StartBody(TestDaemons.MACHINE, 60L, Map.of(), null, null)));
    assertEquals(400, refused.status());
    assertTrue(
        refused.getMessage().contains("several toolchains (stable, staging)"),
        refused.getMessage());
    assertTrue(
        refused.getMessage().contains("has bootstrapped states for stable"), refused.getMessage());
    assertEquals(
        null,
        client
            .start(new StartBody(TestDaemons.MACHINE, 60L, Map.of(), "never", null))
            .startedFrom());
  }

  @Test
  void badModesAndToolchainNamesAnswer400() throws Exception {
    publish("stable", "abc\n");
    ApiClientException mode =
        assertThrows(
            ApiClientException.class,
            () -> client.start(new StartBody(TestDaemons.MACHINE, null, Map.of(), "always", null)));
    assertEquals(400, mode.status());
    assertTrue(mode.getMessage().contains("auto, required or never, not 'always'"));

    ApiClientException name =
        assertThrows(
            ApiClientException.class,
            () -> client.bootstrap(TestDaemons.MACHINE, new BootstrapBody("../x", null, null)));
    assertEquals(400, name.status());
    assertTrue(name.getMessage().contains("'../x' is not a toolchain name"), name.getMessage());

    ApiClientException unknown =
        assertThrows(
            ApiClientException.class,
            () -> client.bootstrap(TestDaemons.MACHINE, new BootstrapBody("beta", null, null)));
    assertEquals(404, unknown.status());
    assertTrue(unknown.getMessage().contains("no toolchain 'beta'"), unknown.getMessage());
  }

  @Test
  void pruneAndTheMetricsOfAHostWithoutStates() throws Exception {
    assertEquals(new PruneView(List.of(), List.of(), List.of()), client.prune());
    HttpResponse<String> metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(daemon.url() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertTrue(
        metrics.body().contains("buildhost_bootstrapped_states{status=\"stale\"} 0"),
        metrics.body());
    assertTrue(metrics.body().contains("buildhost_bootstrapped_disk_bytes 0"), metrics.body());
  }
}
