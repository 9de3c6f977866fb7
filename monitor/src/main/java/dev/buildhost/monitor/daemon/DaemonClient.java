package dev.buildhost.monitor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Texts;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The part of the daemon's HTTP API the monitor uses, and nothing of the manager's classes: {@code
 * POST /v1/host/drain} (200 with {@code "draining": true}), {@code GET /v1/instances} (array of
 * objects with {@code id} and {@code state}), {@code DELETE /v1/host/drain}. Every request carries
 * {@code Authorization: Bearer <token>} when a token file exists.
 */
public final class DaemonClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final URI base;
  private final String token;
  private final HttpClient http;
  private final Duration timeout;

  /** An instance as the daemon lists it. */
  public record InstanceInfo(String id, String state) {
    /** STARTING, RUNNING and STOPPING instances hold up a drain. */
    public boolean active() {
      return state.equals("STARTING") || state.equals("RUNNING") || state.equals("STOPPING");
    }

    @Override
    public String toString() {
      return id + " (" + state + ")";
    }
  }

  public DaemonClient(URI base, String token, Duration timeout) {
    String b = base.toString();
    this.base = URI.create(b.endsWith("/") ? b : b + "/");
    this.token = token;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  public URI base() {
    return base;
  }

  /**
   * Finds the daemon: the configured URL, else the {@code url} in {@code <state_dir>/api.json}; the
   * token comes from the configured token file if it exists.
   *
   * @return empty when neither says where the daemon is
   * @throws DaemonException when api.json or the token file exists but cannot be used
   */
  public static Optional<DaemonClient> locate(MonitorConfig cfg, Duration timeout)
      throws DaemonException {
    URI url = cfg.daemonUrl();
    if (url == null) {
      Path apiJson = cfg.stateDir().resolve("api.json");
      try {
        JsonNode n = JSON.readTree(Files.readAllBytes(apiJson));
        String u = n.path("url").asText("");
        if (u.isEmpty()) {
          throw new DaemonException(apiJson + " has no \"url\"", null);
        }
        url = new URI(u);
      } catch (NoSuchFileException e) {
        return Optional.empty();
      } catch (IOException | URISyntaxException e) {
        throw new DaemonException(
            "cannot read the daemon's address from " + apiJson + ": " + e.getMessage(), e);
      }
    }
    String token = null;
    try {
      token = Files.readString(cfg.tokenFile()).strip();
    } catch (NoSuchFileException e) {
      token = null;
    } catch (IOException e) {
      throw new DaemonException(
          "cannot read the API token " + cfg.tokenFile() + ": " + e.getMessage(), e);
    }
    return Optional.of(new DaemonClient(url, token, timeout));
  }

  /** Asks the daemon to start no new instances. */
  public void drain() throws DaemonException {
    JsonNode n = send("POST", "v1/host/drain");
    if (!n.path("draining").asBoolean(false)) {
      throw new DaemonException(
          "POST /v1/host/drain answered without \"draining\": true: " + Texts.shown(n.toString()),
          null);
    }
  }

  /** Lets the daemon start instances again. */
  public void cancelDrain() throws DaemonException {
    send("DELETE", "v1/host/drain");
  }

  public List<InstanceInfo> instances() throws DaemonException {
    JsonNode n = send("GET", "v1/instances");
    if (!n.isArray()) {
      throw new DaemonException(
          "GET /v1/instances did not answer a JSON array: " + Texts.shown(n.toString()), null);
    }
    List<InstanceInfo> out = new ArrayList<>();
    for (JsonNode i : n) {
      String id = i.path("id").asText("");
      String state = i.path("state").asText("");
      if (id.isEmpty() || state.isEmpty()) {
        throw new DaemonException(
            "GET /v1/instances listed an entry without id or state: " + Texts.shown(i.toString()),
            null);
      }
      out.add(new InstanceInfo(id, state));
    }
    return out;
  }

  private JsonNode send(String method, String path) throws DaemonException {
    URI uri = base.resolve(path);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(timeout)
            .header("Accept", "application/json")
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null && !token.isEmpty()) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> resp;
    try {
      resp = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (ConnectException e) {
      throw new DaemonUnreachableException("no daemon listens at " + base + " (" + e + ")", e);
    } catch (IOException e) {
      throw new DaemonException(method + " " + uri + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DaemonException(method + " " + uri + " interrupted", e);
    }
    String body = new String(resp.body(), java.nio.charset.StandardCharsets.UTF_8);
    if (resp.statusCode() / 100 != 2) {
      throw new DaemonException(
          method
              + " "
              + uri
              + " answered HTTP "
              + resp.statusCode()
              + (resp.statusCode() == 401 ? " (is the token in the token file right?)" : "")
              + ": "
              + Texts.shown(body),
          null);
    }
    if (body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new DaemonException(
          method + " " + uri + " answered something that is not JSON: " + Texts.shown(body), e);
    }
  }
}
