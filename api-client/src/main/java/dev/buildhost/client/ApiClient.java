package dev.buildhost.client;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.buildhost.client.wire.ApiError;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.FileView;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.PruneView;
import dev.buildhost.client.wire.StartBody;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/**
 * A client of the daemon's HTTP API (doc/api.md), for the CLI and for a Java build agent alike.
 * Every call is one request; a refusal or an unreachable daemon is an {@link ApiClientException}
 * carrying the HTTP status, the daemon's message and its hint. Thread-safe.
 */
public final class ApiClient {

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(5);

  private final URI base;
  private final String token;
  private final HttpClient http;
  private final Duration requestTimeout;

  public ApiClient(URI base, String token) {
    this(base, token, CONNECT_TIMEOUT, REQUEST_TIMEOUT);
  }

  /**
   * @param base the API's base URL; the API's paths are resolved below it, so a base with a path (a
   *     daemon behind a proxy) keeps it
   * @param token the bearer token; null or empty sends no Authorization header
   * @param connectTimeout how long to wait for the connection
   * @param requestTimeout how long to wait for an answer (not for streams: console, events, files)
   */
  public ApiClient(URI base, String token, Duration connectTimeout, Duration requestTimeout) {
    this.base = base;
    this.token = token;
    this.requestTimeout = requestTimeout;
    this.http = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
  }

  public ApiClient(DaemonEndpoint endpoint) {
    this(endpoint.url(), endpoint.token());
  }

  /**
   * The client of the daemon whose state folder is {@code stateDir}; see {@link
   * DaemonEndpoint#locate}.
   */
  public static ApiClient forStateDir(Path stateDir) {
    return new ApiClient(DaemonEndpoint.locate(stateDir));
  }

  public URI base() {
    return base;
  }

  public List<MachineView> machines() {
    return get("/v1/machines", new TypeReference<>() {});
  }

  public MachineView machine(String name) {
    return get("/v1/machines/" + segment(name), new TypeReference<>() {});
  }

  public List<InstanceView> instances() {
    return get("/v1/instances", new TypeReference<>() {});
  }

  public InstanceView instance(String id) {
    return get("/v1/instances/" + segment(id), new TypeReference<>() {});
  }

  public InstanceView start(StartBody body) {
    return json(
        send(request("/v1/instances").POST(jsonBody(body)).build()), new TypeReference<>() {});
  }

  /** Starts a bootstrap instance of the machine; its success publishes a bootstrapped state. */
  public InstanceView bootstrap(String machine, BootstrapBody body) {
    return json(
        send(
            request("/v1/machines/" + segment(machine) + "/bootstrap")
                .POST(jsonBody(body))
                .build()),
        new TypeReference<>() {});
  }

  /** Removes the stale bootstrapped states no instance runs on. */
  public PruneView prune() {
    return json(
        send(request("/v1/bootstrapped/prune").POST(HttpRequest.BodyPublishers.noBody()).build()),
        new TypeReference<>() {});
  }

  public InstanceView poweroff(String id) {
    return post("/v1/instances/" + segment(id) + "/poweroff");
  }

  public InstanceView terminate(String id) {
    return post("/v1/instances/" + segment(id) + "/terminate");
  }

  public void delete(String id) {
    send(request("/v1/instances/" + segment(id)).DELETE().build());
  }

  public List<FileView> files(String id) {
    return get("/v1/instances/" + segment(id) + "/files", new TypeReference<>() {});
  }

  public void putFile(String id, String name, Path source) {
    HttpRequest.BodyPublisher body;
    try {
      body = HttpRequest.BodyPublishers.ofFile(source);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + source, e);
    }
    send(request(filePath(id, name)).PUT(body).build());
  }

  /** A file of the instance folder; the caller closes the stream. */
  public InputStream openFile(String id, String name) {
    return stream(filePath(id, name));
  }

  /**
   * The console log; with {@code follow} it goes on until the instance stops. The caller closes it.
   */
  public InputStream openConsole(String id, boolean follow) {
    return stream("/v1/instances/" + segment(id) + "/console" + (follow ? "?follow=true" : ""));
  }

  public HostInfo host() {
    return get("/v1/host", new TypeReference<>() {});
  }

  public HostInfo drain(boolean draining) {
    HttpRequest.Builder request = request("/v1/host/drain");
    request = draining ? request.POST(HttpRequest.BodyPublishers.noBody()) : request.DELETE();
    return json(send(request.build()), new TypeReference<>() {});
  }

  /**
   * Opens the event stream (of one instance when {@code instanceId} is not null). Returns once the
   * daemon subscribed it, so every later event arrives; close it to stop.
   */
  public Events events(String instanceId) {
    String path = "/v1/events" + (instanceId == null ? "" : "?instance=" + query(instanceId));
    HttpResponse<Stream<String>> response =
        exchange(request(path).build(), HttpResponse.BodyHandlers.ofLines(), false);
    check(response.statusCode(), () -> String.join("\n", response.body().toList()));
    return new Events(response.body());
  }

  /**
   * Server-sent events as they come; {@link #hasNext()} blocks until one arrives or the stream
   * ends.
   */
  public static final class Events implements Iterator<InstanceEventView>, AutoCloseable {
    private final Stream<String> stream;
    private final Iterator<String> lines;
    private InstanceEventView next;

    Events(Stream<String> lines) {
      this.stream = lines;
      this.lines = lines.iterator();
    }

    @Override
    public boolean hasNext() {
      if (next == null) {
        next = read();
      }
      return next != null;
    }

    @Override
    public InstanceEventView next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      InstanceEventView event = next;
      next = null;
      return event;
    }

    private InstanceEventView read() {
      StringBuilder data = new StringBuilder();
      try {
        while (lines.hasNext()) {
          String line = lines.next();
          if (line.startsWith("data:")) {
            data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
          } else if (line.isEmpty() && data.length() > 0) {
            return ApiJson.MAPPER.readValue(data.toString(), InstanceEventView.class);
          }
        }
      } catch (IOException e) {
        throw new ApiClientException(
            502,
            "the daemon sent an event that is not valid JSON: " + e.getMessage(),
            "check that the CLI and the daemon are the same version");
      } catch (UncheckedIOException e) {
        return null; // the stream broke: the daemon went away
      }
      return null;
    }

    @Override
    public void close() {
      stream.close();
    }
  }

  private String filePath(String id, String name) {
    return "/v1/instances/" + segment(id) + "/files/" + segment(name);
  }

  private InstanceView post(String path) {
    return json(
        send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build()),
        new TypeReference<>() {});
  }

  private <T> T get(String path, TypeReference<T> type) {
    return json(send(request(path).GET().build()), type);
  }

  private HttpRequest.Builder request(String path) {
    String b = base.toString();
    URI uri = URI.create(b.endsWith("/") ? b : b + "/").resolve(path.substring(1));
    HttpRequest.Builder request = HttpRequest.newBuilder(uri);
    return token == null || token.isEmpty()
        ? request
        : request.header("Authorization", "Bearer " + token);
  }

  private static HttpRequest.BodyPublisher jsonBody(Object value) {
    try {
      return HttpRequest.BodyPublishers.ofByteArray(ApiJson.MAPPER.writeValueAsBytes(value));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private byte[] send(HttpRequest request) {
    HttpResponse<byte[]> response =
        exchange(request, HttpResponse.BodyHandlers.ofByteArray(), true);
    check(response.statusCode(), () -> new String(response.body(), StandardCharsets.UTF_8));
    return response.body();
  }

  private InputStream stream(String path) {
    HttpResponse<InputStream> response =
        exchange(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream(), false);
    check(
        response.statusCode(),
        () -> {
          try (InputStream in = response.body()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "";
          }
        });
    return response.body();
  }

  private <T> HttpResponse<T> exchange(
      HttpRequest request, HttpResponse.BodyHandler<T> handler, boolean timeout) {
    HttpRequest timed =
        timeout
            ? HttpRequest.newBuilder(request, (k, v) -> true).timeout(requestTimeout).build()
            : request;
    try {
      return http.send(timed, handler);
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "cannot reach the buildhost daemon at " + base + ": start it with `buildhost daemon`",
          null,
          e);
    } catch (IOException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "lost the connection to the buildhost daemon at " + base + ": " + e,
          "check the daemon's log",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiClientException(ApiClientException.UNREACHABLE, "interrupted", null, e);
    }
  }

  private static void check(int status, java.util.function.Supplier<String> body) {
    if (status < 400) {
      return;
    }
    String text = body.get();
    try {
      ApiError error = ApiJson.MAPPER.readValue(text, ApiError.class);
      if (error != null && error.error() != null) {
        throw new ApiClientException(status, error.error(), error.hint());
      }
      throw new ApiClientException(status, "HTTP " + status + ": " + text, null);
    } catch (IOException e) {
      throw new ApiClientException(status, "HTTP " + status + ": " + text, null);
    }
  }

  private static <T> T json(byte[] body, TypeReference<T> type) {
    try {
      return ApiJson.MAPPER.readValue(body, type);
    } catch (IOException e) {
      throw new ApiClientException(
          502,
          "the daemon's answer is not the JSON expected: " + e.getMessage(),
          "check that the CLI and the daemon are the same version",
          e);
    }
  }

  /** One path segment, percent-encoded (URLEncoder's '+' for space is wrong in paths). */
  private static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
