package dev.buildhost.client;

import dev.buildhost.client.wire.ApiError;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.FileView;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.client.wire.FleetInstanceView;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.PruneView;
import dev.buildhost.client.wire.PublishBody;
import dev.buildhost.client.wire.PublishView;
import dev.buildhost.client.wire.StartBody;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpRetryException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

  // The JDK's HttpURLConnection sends a buffered request once more when its connection fails before
  // any answer (a kept-alive connection the daemon closed meanwhile, a daemon that went away). For
  // a POST that means a second start: never. The JDK reads the property once, when its first HTTP
  // request is made: that is after this, in any program whose HTTP requests go through this client
  // (the CLI, the monitor); a program that made some before sets it on its command line.
  static {
    System.setProperty("sun.net.http.retryPost", "false");
  }

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(5);

  private final URI base;
  private final String token;
  private final Duration connectTimeout;
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
    this.connectTimeout = connectTimeout;
    this.requestTimeout = requestTimeout;
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
    return getList("/v1/machines", MachineView.class);
  }

  public MachineView machine(String name) {
    return get("/v1/machines/" + segment(name), MachineView.class);
  }

  public List<InstanceView> instances() {
    return getList("/v1/instances", InstanceView.class);
  }

  public InstanceView instance(String id) {
    return get("/v1/instances/" + segment(id), InstanceView.class);
  }

  public InstanceView start(StartBody body) {
    return json(send("POST", "/v1/instances", jsonBody(body)), InstanceView.class);
  }

  /** Starts a bootstrap instance of the machine; its success publishes a bootstrapped state. */
  public InstanceView bootstrap(String machine, BootstrapBody body) {
    return json(
        send("POST", "/v1/machines/" + segment(machine) + "/bootstrap", jsonBody(body)),
        InstanceView.class);
  }

  /**
   * Publishes the kept disk of a stopped instance (started with {@code keep}) as a new revision of
   * a machine.
   */
  public PublishView publish(String id, PublishBody body) {
    return json(
        send("POST", "/v1/instances/" + segment(id) + "/publish", jsonBody(body)),
        PublishView.class);
  }

  /** Removes the stale bootstrapped states no instance runs on. */
  public PruneView prune() {
    return json(send("POST", "/v1/bootstrapped/prune", new byte[0]), PruneView.class);
  }

  public InstanceView poweroff(String id) {
    return post("/v1/instances/" + segment(id) + "/poweroff");
  }

  public InstanceView terminate(String id) {
    return post("/v1/instances/" + segment(id) + "/terminate");
  }

  public void delete(String id) {
    send("DELETE", "/v1/instances/" + segment(id), null);
  }

  public List<FileView> files(String id) {
    return getList("/v1/instances/" + segment(id) + "/files", FileView.class);
  }

  public void putFile(String id, String name, Path source) {
    long size;
    InputStream in;
    try {
      size = Files.size(source);
      in = Files.newInputStream(source);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + source, e);
    }
    try (in) {
      // Streamed, not buffered: a file may be large. (A refusal then comes without the daemon's
      // message: see exchange.)
      exchange(
          "PUT",
          filePath(id, name),
          true,
          new Body(size, true, in::transferTo),
          ApiClient::readAll);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + source, e);
    }
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
    return get("/v1/host", HostInfo.class);
  }

  /** The fleet's hosts, from their records in etcd; an error when the daemon is in no fleet. */
  public List<FleetHostView> fleetHosts() {
    return getList("/v1/fleet/hosts", FleetHostView.class);
  }

  /** Every instance of the fleet's hosts, from their records in etcd. */
  public List<FleetInstanceView> fleetInstances() {
    return getList("/v1/fleet/instances", FleetInstanceView.class);
  }

  /** The fleet's reboot slots: who holds one, who waits for one, and how many there are. */
  public FleetRebootsView fleetReboots() {
    return get("/v1/fleet/reboots", FleetRebootsView.class);
  }

  public HostInfo drain(boolean draining) {
    return json(
        send(draining ? "POST" : "DELETE", "/v1/host/drain", draining ? new byte[0] : null),
        HostInfo.class);
  }

  /**
   * Opens the event stream (of one instance when {@code instanceId} is not null). Returns once the
   * daemon subscribed it, so every later event arrives; close it to stop.
   */
  public Events events(String instanceId) {
    String path = "/v1/events" + (instanceId == null ? "" : "?instance=" + query(instanceId));
    InputStream body = stream(path);
    return new Events(
        new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)).lines());
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
            return WireJson.read(
                data.toString().getBytes(StandardCharsets.UTF_8), InstanceEventView.class);
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
    return json(send("POST", path, new byte[0]), InstanceView.class);
  }

  private <T> T get(String path, Class<T> type) {
    return json(send("GET", path, null), type);
  }

  private <T> List<T> getList(String path, Class<T> type) {
    byte[] body = send("GET", path, null);
    return answer(() -> WireJson.readList(body, type));
  }

  private URI uri(String path) {
    String b = base.toString();
    return URI.create(b.endsWith("/") ? b : b + "/").resolve(path.substring(1));
  }

  private static byte[] jsonBody(Object value) {
    try {
      return WireJson.write(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One request with an optional body (null: none); the whole answer, or the daemon's refusal. */
  private byte[] send(String method, String path, byte[] body) {
    return exchange(
        method,
        path,
        true,
        body == null ? null : new Body(body.length, false, out -> out.write(body)),
        ApiClient::readAll);
  }

  /** A GET whose answer is read as it comes: timed only while connecting. */
  private InputStream stream(String path) {
    return exchange("GET", path, false, null, HttpURLConnection::getInputStream);
  }

  /** What writes a request's body. */
  private interface BodyWriter {
    void write(OutputStream out) throws IOException;
  }

  /**
   * A request's body: its length, whether it is streamed (sent as it is written: for files) or
   * buffered (small JSON; HttpURLConnection can then answer a 401 with the daemon's message).
   */
  private record Body(long length, boolean streamed, BodyWriter writer) {}

  /** How the answer of an accepted request (status below 400) is read. */
  private interface ResponseReader<T> {
    T read(HttpURLConnection connection) throws IOException;
  }

  /**
   * One request over {@link HttpURLConnection}, not java.net.http: the CLI makes one or two
   * requests per process, and java.net.http's client set-up (a selector thread, the default TLS
   * context with the system's trust store, even for http://) cost about a second of every verb's
   * start-up, ten times the whole exchange here (bench/cli).
   */
  private <T> T exchange(
      String method, String path, boolean timed, Body body, ResponseReader<T> reader) {
    HttpURLConnection connection = null;
    try {
      connection = (HttpURLConnection) uri(path).toURL().openConnection();
      connection.setRequestMethod(method);
      connection.setConnectTimeout(millis(connectTimeout));
      connection.setReadTimeout(timed ? millis(requestTimeout) : 0);
      connection.setUseCaches(false);
      if (token != null && !token.isEmpty()) {
        connection.setRequestProperty("Authorization", "Bearer " + token);
      }
      if (body != null) {
        connection.setDoOutput(true);
        if (body.streamed()) {
          connection.setFixedLengthStreamingMode(body.length());
        } else {
          connection.setRequestProperty("Content-Type", "application/json");
        }
      }
      connect(connection);
      if (body != null) {
        try (OutputStream out = connection.getOutputStream()) {
          body.writer().write(out);
        }
      }
      int status = connection.getResponseCode();
      if (status >= 400) {
        InputStream error = connection.getErrorStream();
        byte[] text = error == null ? new byte[0] : readAll(error);
        check(status, () -> new String(text, StandardCharsets.UTF_8));
      }
      return reader.read(connection);
    } catch (HttpRetryException e) {
      // A streamed upload that the daemon refused for its token: the body cannot be sent again,
      // so HttpURLConnection reports the status alone.
      throw new ApiClientException(
          e.responseCode(),
          "the daemon refused the request (HTTP " + e.responseCode() + ")",
          "check the API token in the daemon's state folder",
          e);
    } catch (IOException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "lost the connection to the buildhost daemon at " + base + ": " + e,
          "check the daemon's log",
          e);
    }
  }

  /** Connects, so that a daemon that is not there is told apart from one that went away. */
  private void connect(HttpURLConnection connection) {
    try {
      connection.connect();
    } catch (IOException e) {
      throw new ApiClientException(
          ApiClientException.UNREACHABLE,
          "cannot reach the buildhost daemon at " + base + ": start it with `buildhost daemon`",
          null,
          e);
    }
  }

  private static byte[] readAll(HttpURLConnection connection) throws IOException {
    return readAll(connection.getInputStream());
  }

  private static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  private static int millis(Duration duration) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, duration.toMillis()));
  }

  private static void check(int status, java.util.function.Supplier<String> body) {
    if (status < 400) {
      return;
    }
    String text = body.get();
    try {
      ApiError error = WireJson.read(text.getBytes(StandardCharsets.UTF_8), ApiError.class);
      if (error != null && error.error() != null) {
        throw new ApiClientException(status, error.error(), error.hint());
      }
      throw new ApiClientException(status, "HTTP " + status + ": " + text, null);
    } catch (IOException e) {
      throw new ApiClientException(status, "HTTP " + status + ": " + text, null);
    }
  }

  private static <T> T json(byte[] body, Class<T> type) {
    return answer(() -> WireJson.read(body, type));
  }

  /** What reads an answer's JSON. */
  private interface AnswerReader<T> {
    T read() throws IOException;
  }

  private static <T> T answer(AnswerReader<T> reader) {
    try {
      return reader.read();
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
