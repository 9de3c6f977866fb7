package dev.buildhost.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiClientTest {

  @TempDir Path state;

  @Test
  void aRefusedConnectionIsUnreachableWithItsCause() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ApiClient client =
        new ApiClient(
            URI.create("http://127.0.0.1:" + port),
            "t",
            Duration.ofSeconds(2),
            Duration.ofSeconds(2));
    ApiClientException e = assertThrows(ApiClientException.class, client::instances);
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertInstanceOf(ConnectException.class, e.getCause());
  }

  @Test
  void aBaseWithAPathKeepsItAndNoTokenSendsNoAuthorization() throws Exception {
    List<String> seen = new ArrayList<>();
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          synchronized (seen) {
            seen.add(
                ex.getRequestURI().getPath()
                    + " "
                    + ex.getRequestHeaders().getFirst("Authorization"));
          }
          byte[] body = "[]".getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, body.length);
          try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/proxy";
      assertTrue(new ApiClient(URI.create(base), null).instances().isEmpty());
      assertTrue(new ApiClient(URI.create(base + "/"), "tok").instances().isEmpty());
      synchronized (seen) {
        assertEquals(List.of("/proxy/v1/instances null", "/proxy/v1/instances Bearer tok"), seen);
      }
    } finally {
      server.stop(0);
    }
  }

  @Test
  void noApiJsonIsUnreachableCausedByTheMissingFile() {
    ApiClientException e = assertThrows(ApiClientException.class, () -> DaemonEndpoint.url(state));
    assertEquals(ApiClientException.UNREACHABLE, e.status());
    assertInstanceOf(NoSuchFileException.class, e.getCause());
    assertNull(e.getCause().getCause());
  }
}
