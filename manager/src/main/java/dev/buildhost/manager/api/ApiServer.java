package dev.buildhost.manager.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import dev.buildhost.tftp.net.Addresses;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/JSON API under /v1 (and /metrics), a thin layer over {@link InstanceManager}. Every
 * path but /metrics needs {@code Authorization: Bearer <token>}. Errors are {@link ApiError}
 * JSON; a refused request changes nothing. See doc/api/openapi.yaml.
 */
public final class ApiServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
  private static final int MAX_THREADS = 128;
  private static final long FOLLOW_POLL_MILLIS = 250;

  /**
   * Body size caps.
   *
   * @param jsonBytes the start request's JSON (which may carry files in base64)
   * @param fileBytes one file put into an instance folder
   */
  public record Limits(long jsonBytes, long fileBytes) {
    public static final Limits DEFAULT = new Limits(16L << 20, 64L << 20);
  }

  /**
   * What the API serves, besides the manager.
   *
   * @param manager  the instance lifecycle
   * @param library  the machine library
   * @param host     facts about the host that do not change while the daemon runs
   * @param metrics  counters the API feeds and exposes
   */
  public record Services(InstanceManager manager, MachineLibrary library, HostFacts host, Metrics metrics) {
  }

  /**
   * Host facts fixed at startup; {@link HostInfo} adds what changes.
   */
  public record HostFacts(String version, String acceleration, String accelerationReason, Map<String, String> versions,
                          int maxInstances, long ramBudgetMib, HostInfo.Tftp tftp, String root, String stateDir) {
  }

  private final InetSocketAddress listen;
  private final byte[] token;
  private final Services services;
  private final InstanceManager manager;
  private final Limits limits;
  private final Router router = new Router();
  private final EventStream events;
  private HttpServer server;
  private ExecutorService executor;
  private volatile boolean closing;

  public ApiServer(InetSocketAddress listen, String token, Services services, Limits limits) {
    this.listen = listen;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.services = services;
    this.manager = services.manager();
    this.limits = limits;
    this.events = new EventStream(manager);
    router
        .addPublic("GET", "/metrics", this::metrics)
        .add("GET", "/v1/host", r -> r.sendJson(200, host()))
        .add("POST", "/v1/host/drain", r -> drain(r, true))
        .add("DELETE", "/v1/host/drain", r -> drain(r, false))
        .add("GET", "/v1/machines", r -> r.sendJson(200, services.library().machines().stream().map(MachineView::of).toList()))
        .add("GET", "/v1/machines/{}", r -> r.sendJson(200, MachineView.of(services.library().machine(r.param(0)))))
        .add("GET", "/v1/instances", r -> r.sendJson(200, manager.list()))
        .add("POST", "/v1/instances", this::start)
        .add("GET", "/v1/instances/{}", r -> r.sendJson(200, manager.get(r.param(0))))
        .add("DELETE", "/v1/instances/{}", r -> {
          manager.delete(r.param(0));
          r.sendEmpty(204);
        })
        .add("POST", "/v1/instances/{}/poweroff", r -> r.sendJson(200, manager.poweroff(r.param(0))))
        .add("POST", "/v1/instances/{}/terminate", r -> r.sendJson(200, manager.terminate(r.param(0))))
        .add("GET", "/v1/instances/{}/files", r -> r.sendJson(200, manager.listFiles(r.param(0))))
        .add("GET", "/v1/instances/{}/files/{*}", this::getFile)
        .add("PUT", "/v1/instances/{}/files/{*}", this::putFile)
        .add("GET", "/v1/instances/{}/console", this::console)
        .add("GET", "/v1/events", events::handle);
  }

  /** Binds the listen address and starts serving; returns this. */
  public ApiServer start() throws IOException {
    AtomicInteger threads = new AtomicInteger();
    executor = new ThreadPoolExecutor(2, MAX_THREADS, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
      Thread thread = new Thread(r, "api-" + threads.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    server = HttpServer.create(listen, 64);
    server.setExecutor(executor);
    server.createContext("/", this::dispatch);
    server.start();
    return this;
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** The base URL clients use, e.g. {@code http://127.0.0.1:7346}. */
  public URI url() {
    return URI.create("http://" + Addresses.hostPort(address()));
  }

  /** Stops accepting requests, ends event streams and waits a moment for answers in flight. */
  @Override
  public void close() {
    closing = true;
    events.close();
    if (server != null) {
      server.stop(1);
    }
    if (executor != null) {
      executor.shutdownNow();
    }
  }

  private void dispatch(HttpExchange exchange) {
    int status;
    try {
      status = handle(exchange);
    } finally {
      exchange.close();
    }
    services.metrics().onAnswer(status);
  }

  /** Answers one request; returns the status sent (0 when the client went away first). */
  private int handle(HttpExchange exchange) {
    URI uri = exchange.getRequestURI();
    Request request = new Request(exchange, List.of(), Map.of());
    try {
      Router.Match match = router.match(exchange.getRequestMethod(), uri.getRawPath());
      request = new Request(exchange, match.params(), Router.query(uri.getRawQuery()));
      if (closing) {
        throw new ApiException(503, "the daemon is shutting down", "start it again with `buildhost daemon`");
      }
      if (match.route() == null) {
        if (!match.allowedMethods().isEmpty()) {
          exchange.getResponseHeaders().set("Allow", String.join(", ", match.allowedMethods()));
          throw new ApiException(405, exchange.getRequestMethod() + " is not allowed on " + uri.getRawPath(),
              "use " + String.join(" or ", match.allowedMethods()));
        }
        throw new ApiException(404, "no such endpoint: " + exchange.getRequestMethod() + " " + uri.getRawPath(),
            "the endpoints are listed in doc/api/openapi.yaml");
      }
      if (match.route().authenticated()) {
        authenticate(exchange);
      }
      match.route().handler().handle(request);
      return request.status();
    } catch (IOException | RuntimeException e) {
      ApiException error = toApiException(e);
      if (error == null) {
        log.debug("{} {}: client went away: {}", exchange.getRequestMethod(), uri, e.toString());
        return request.status();
      }
      if (error.status() >= 500) {
        log.warn("{} {} -> {}: {}", exchange.getRequestMethod(), uri.getRawPath(), error.status(), error.getMessage(),
            error.status() == 500 ? e : null);
      }
      if (exchange.getResponseCode() > 0) {
        return exchange.getResponseCode(); // a streamed answer broke midway: nothing more can be said
      }
      try {
        request.sendJson(error.status(), error.toError());
      } catch (IOException gone) {
        log.debug("client went away before the error answer: {}", gone.toString());
      }
      return error.status();
    }
  }

  /**
   * The answer for a failure: a body over its limit wherever it shows in the causes, the
   * manager's refusals by kind, 500 for bugs; null when the client went away (plain I/O error).
   */
  private static ApiException toApiException(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof LimitedInputStream.TooLargeException tooLarge) {
        return Request.tooLarge(-1, tooLarge.limit());
      }
    }
    if (e instanceof ApiException api) {
      return api;
    }
    if (e instanceof ManagerException refused) {
      return ApiException.of(refused);
    }
    if (e instanceof IOException) {
      return null;
    }
    return new ApiException(500, "internal error: " + e, "see the daemon's log; report it if it persists");
  }

  private void authenticate(HttpExchange exchange) {
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    String hint = "send 'Authorization: Bearer <token>' with the token from the file api-token in the "
        + "daemon's state folder (" + services.host().stateDir() + ")";
    exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"buildhost\"");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new ApiException(401, "missing bearer token", hint);
    }
    byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    if (!MessageDigest.isEqual(given, token)) {
      throw new ApiException(401, "wrong bearer token", hint);
    }
    exchange.getResponseHeaders().remove("WWW-Authenticate");
  }

  HostInfo host() {
    HostFacts facts = services.host();
    int active = (int) manager.list().stream().filter(i -> i.state() != InstanceState.STOPPED).count();
    return new HostInfo(facts.version(), facts.acceleration(), facts.accelerationReason(),
        new HostInfo.Capacity(facts.maxInstances(), active, facts.ramBudgetMib()),
        facts.versions(), manager.isDraining(), facts.tftp(), facts.root(), facts.stateDir());
  }

  private void drain(Request request, boolean draining) throws IOException {
    if (manager.isDraining() != draining) {
      manager.setDraining(draining);
      log.info("host {}", draining ? "draining: new starts are refused" : "no longer draining: starts accepted");
    }
    request.sendJson(200, host());
  }

  private void metrics(Request request) throws IOException {
    request.sendText(200, Metrics.CONTENT_TYPE, services.metrics().render(manager.list(), manager.isDraining(), events.openStreams()));
  }

  private void start(Request request) throws IOException {
    StartRequest start = request.json(StartBody.class, limits.jsonBytes()).toRequest();
    Instance instance;
    try {
      instance = manager.start(start);
    } catch (ManagerException e) {
      services.metrics().onStartRefused(e.kind().name());
      throw e;
    }
    request.exchange().getResponseHeaders().set("Location", "/v1/instances/" + instance.id());
    request.sendJson(201, instance);
  }

  private void getFile(Request request) throws IOException {
    try (InputStream in = manager.openFile(request.param(0), request.param(1));
         OutputStream out = request.startStream(200, "application/octet-stream")) {
      in.transferTo(out);
    }
  }

  private void putFile(Request request) throws IOException {
    String id = request.param(0);
    try (InputStream body = request.body(limits.fileBytes())) {
      manager.putFile(id, request.param(1), body);
    }
    request.sendEmpty(204);
  }

  /** The console log; with {@code follow=true} it goes on until the instance has stopped. */
  private void console(Request request) throws IOException {
    String id = request.param(0);
    boolean follow = request.queryFlag("follow");
    try (InputStream in = follow ? awaitConsoleLog(id) : manager.openConsoleLog(id);
         OutputStream out = request.startStream(200, "text/plain; charset=utf-8")) {
      byte[] buffer = new byte[16384];
      while (true) {
        int n = in.read(buffer);
        if (n > 0) {
          out.write(buffer, 0, n);
          continue;
        }
        out.flush();
        if (!follow || closing || stopped(id)) {
          // one more read: what was written between the last read and the stop
          in.transferTo(out);
          return;
        }
        sleep();
      }
    }
  }

  /** The console log, once the guest has written one (a VM's may come a moment after its start). */
  private InputStream awaitConsoleLog(String id) throws IOException {
    while (true) {
      try {
        return manager.openConsoleLog(id);
      } catch (ManagerException e) {
        if (e.kind() != ManagerException.Kind.NOT_FOUND || closing || manager.get(id).state() == InstanceState.STOPPED) {
          throw e;
        }
      }
      sleep();
    }
  }

  private boolean stopped(String id) {
    try {
      return manager.get(id).state() == InstanceState.STOPPED;
    } catch (ManagerException e) {
      return true; // deleted meanwhile
    }
  }

  private static void sleep() throws IOException {
    try {
      Thread.sleep(FOLLOW_POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }
}
