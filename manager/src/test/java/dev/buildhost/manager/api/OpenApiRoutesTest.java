package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.machine.MachineLibrary;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The routes the API server serves and the operations of doc/api/openapi.yaml are the same: each
 * route is in the spec with its method and path template, each spec operation is served, and the
 * two agree on which operations need the bearer token. Checked on the server's route table and over
 * real HTTP against a running ApiServer (requests without a token, so none reaches a handler that
 * changes anything).
 */
class OpenApiRoutesTest {

  private static final Path SPEC = Path.of("..", "doc", "api", "openapi.yaml");
  private static final Set<String> HTTP_METHODS =
      Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

  /** One operation: method and path template with every parameter written {@code {}}. */
  record Operation(String method, String template) implements Comparable<Operation> {
    @Override
    public int compareTo(Operation other) {
      int byPath = template.compareTo(other.template);
      return byPath != 0 ? byPath : method.compareTo(other.method);
    }

    @Override
    public String toString() {
      return method + " " + template;
    }
  }

  @TempDir static Path root;
  static Daemon daemon;
  static ApiServer server;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws IOException {
    daemon = TestDaemons.start(root, ApiServer.Limits.DEFAULT);
    ApiServer.HostFacts facts =
        new ApiServer.HostFacts(
            "test",
            "TCG",
            "test",
            Map.of(),
            4,
            1024,
            new HostInfo.Tftp(null, 1, 2),
            root.toString(),
            root.resolve("state").toString(),
            new HostInfo.Network("user", "test", null, null));
    ApiServer.Services services =
        new ApiServer.Services(
            daemon.manager(), new MachineLibrary(root.resolve("machines")), facts, new Metrics());
    server =
        new ApiServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                "a-token",
                services,
                ApiServer.Limits.DEFAULT)
            .start();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  @Test
  void everyServedRouteIsInTheSpecAndEverySpecOperationIsServed() throws IOException {
    Set<Operation> specified = specOperations().keySet();
    Set<Operation> served = new TreeSet<>();
    for (Router.Route route : server.routes()) {
      served.add(new Operation(route.method(), normalize(route.template())));
    }
    assertFalse(specified.isEmpty(), "no operations read from " + SPEC);

    Set<Operation> unspecified = new TreeSet<>(served);
    unspecified.removeAll(specified);
    Set<Operation> unserved = new TreeSet<>(specified);
    unserved.removeAll(served);
    assertEquals(Set.of(), unspecified, "routes the server serves that " + SPEC + " lacks");
    assertEquals(Set.of(), unserved, "operations of " + SPEC + " the server does not serve");
  }

  @Test
  void theSpecAndTheServerAgreeOnWhichOperationsNeedTheToken() throws IOException {
    Map<Operation, Boolean> specified = specOperations();
    List<String> disagreements = new ArrayList<>();
    for (Router.Route route : server.routes()) {
      Operation operation = new Operation(route.method(), normalize(route.template()));
      Boolean specNeedsToken = specified.get(operation);
      if (specNeedsToken != null && specNeedsToken != route.authenticated()) {
        disagreements.add(
            operation
                + ": the spec says "
                + (specNeedsToken ? "token" : "public")
                + ", the server "
                + (route.authenticated() ? "token" : "public"));
      }
    }
    assertEquals(
        List.of(), disagreements, "'security' of " + SPEC + " against the server's routes");
  }

  /**
   * Every spec operation, sent over HTTP without a token: a served operation that needs one is
   * answered 401 (the router found it, then refused it), a public one is answered by its handler;
   * an unserved one would get the router's 404 "no such endpoint" or 405.
   */
  @Test
  void everySpecOperationIsAnsweredOverHttp() throws Exception {
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<Operation, Boolean> entry : specOperations().entrySet()) {
      Operation operation = entry.getKey();
      String path = operation.template().replace("{}", "x");
      HttpRequest request =
          HttpRequest.newBuilder(server.url().resolve(path))
              .method(operation.method(), HttpRequest.BodyPublishers.noBody())
              .build();
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      boolean needsToken = entry.getValue();
      if (needsToken && response.statusCode() != 401) {
        wrong.add(
            operation + " (as " + path + "): " + response.statusCode() + " " + response.body());
      }
      if (!needsToken
          && (response.statusCode() == 401
              || response.statusCode() == 404
              || response.statusCode() == 405)) {
        wrong.add(
            operation + " (as " + path + "): " + response.statusCode() + " " + response.body());
      }
    }
    assertEquals(List.of(), wrong, "operations of " + SPEC + " answered wrongly without a token");
  }

  @Test
  void aPathTheSpecLacksGetsTheRoutersNotFound() throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(server.url().resolve("/v1/nothing-here")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(404, response.statusCode(), "the probe above relies on unserved paths being 404");
    assertTrue(response.body().contains("no such endpoint"), response.body());
  }

  /** The spec's operations, each with whether it needs the bearer token. */
  static Map<Operation, Boolean> specOperations() throws IOException {
    JsonNode spec = new YAMLMapper().readTree(SPEC.toFile());
    boolean securedByDefault = isSecured(spec.path("security"));
    JsonNode paths = spec.path("paths");
    assertFalse(paths.isMissingNode(), SPEC + " has no 'paths'");
    Map<Operation, Boolean> out = new TreeMap<>();
    for (Map.Entry<String, JsonNode> path : paths.properties()) {
      for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
        if (!HTTP_METHODS.contains(op.getKey())) {
          continue; // "parameters", "summary", ... of the path item
        }
        JsonNode security = op.getValue().path("security");
        boolean secured = security.isMissingNode() ? securedByDefault : isSecured(security);
        Operation operation =
            new Operation(op.getKey().toUpperCase(Locale.ROOT), normalize(path.getKey()));
        if (out.put(operation, secured) != null) {
          throw new AssertionError(SPEC + ": " + operation + " is declared twice");
        }
      }
    }
    return out;
  }

  /** A security requirement list needs a token when it names at least one scheme. */
  private static boolean isSecured(JsonNode requirements) {
    return requirements.isArray() && requirements.size() > 0;
  }

  /**
   * A path template with each parameter written {@code {}}: the spec names its parameters ({@code
   * {id}}), the router does not ({@code {}}, and {@code {*}} for the rest of the path).
   */
  static String normalize(String template) {
    return template.replaceAll("\\{[^}/]*}", "{}");
  }
}
