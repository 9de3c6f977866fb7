package dev.buildhost.monitor.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The daemon's drain API as the monitor sees it, on 127.0.0.1: POST/DELETE /v1/host/drain and GET
 * /v1/instances, with a bearer token. Instances can be made to end after a number of polls.
 */
public final class FakeDaemon implements AutoCloseable {
  private final HttpServer server;
  private final String token;
  private final List<String> requests = new ArrayList<>();
  private final Map<String, String> instances = new LinkedHashMap<>();
  private final Map<String, Integer> endAfterPolls = new LinkedHashMap<>();
  private boolean draining;
  private int instancePolls;

  public FakeDaemon(String token) throws IOException {
    this.token = token;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newSingleThreadExecutor());
    server.createContext("/", this::handle);
    server.start();
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /**
   * An instance in a state; {@code polls} GET /v1/instances later it is STOPPED (-1: never). An
   * UNKNOWN one stays UNKNOWN, and its guest is gone then (it gets a stoppedAt).
   */
  public synchronized FakeDaemon instance(String id, String state, int polls) {
    instances.put(id, state);
    endAfterPolls.put(id, polls);
    return this;
  }

  /** "METHOD /path" of every request, in order. */
  public synchronized List<String> requests() {
    return List.copyOf(requests);
  }

  public synchronized boolean draining() {
    return draining;
  }

  private void handle(HttpExchange ex) throws IOException {
    String line = ex.getRequestMethod() + " " + ex.getRequestURI().getPath();
    String body;
    int status = 200;
    synchronized (this) {
      requests.add(line);
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (token != null && !("Bearer " + token).equals(auth)) {
        status = 401;
        body = "{\"error\":\"unauthorized\"}";
      } else {
        switch (line) {
          case "POST /v1/host/drain" -> {
            draining = true;
            body = "{\"draining\":true}";
          }
          case "DELETE /v1/host/drain" -> {
            draining = false;
            body = "{\"draining\":false}";
          }
          case "GET /v1/instances" -> {
            instancePolls++;
            StringBuilder b = new StringBuilder("[");
            for (Map.Entry<String, String> e : instances.entrySet()) {
              int after = endAfterPolls.get(e.getKey());
              boolean ended = after >= 0 && instancePolls > after;
              boolean unknown = e.getValue().equals("UNKNOWN");
              if (ended && !unknown) {
                e.setValue("STOPPED");
              }
              b.append(b.length() > 1 ? "," : "")
                  .append("{\"id\":\"")
                  .append(e.getKey())
                  .append("\",\"state\":\"")
                  .append(e.getValue())
                  .append(unknown && ended ? "\",\"stoppedAt\":\"2026-01-01T00:00:00Z" : "")
                  .append("\",\"machine\":\"m\",\"tftpPort\":0}");
            }
            body = b.append(']').toString();
          }
          default -> {
            status = 404;
            body = "{}";
          }
        }
      }
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    try (ex;
        OutputStream out = ex.getResponseBody()) {
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, bytes.length);
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
