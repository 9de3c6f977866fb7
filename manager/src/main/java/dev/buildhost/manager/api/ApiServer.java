package dev.buildhost.manager.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.client.wire.ApiError;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.client.wire.FleetInstanceView;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.PruneView;
import dev.buildhost.client.wire.PublishBody;
import dev.buildhost.client.wire.PublishView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.common.threads.Threads;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetException;
import dev.buildhost.fleet.HostRegistry;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.bootstrap.StateStore;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.instance.PublishedRevision;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import dev.buildhost.tftp.net.Addresses;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.http.spi.JettyHttpServer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/JSON API under /v1 (and /metrics), a thin layer over {@link InstanceManager}. Every path
 * but /metrics needs {@code Authorization: Bearer <token>}. Errors are {@link ApiError} JSON; a
 * refused request changes nothing. See doc/api/openapi.yaml.
 */
public final class ApiServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

  /** Handlers block (event streams, console follows): this many run at once. */
  private static final int MAX_THREADS = 160;

  private static final int MIN_THREADS = 4;
  private static final int BACKLOG = 64;

  /** Request line and headers together; Jetty's default is 8 KiB. */
  private static final int MAX_HEADER_BYTES = 16 * 1024;

  private static final long FOLLOW_POLL_MILLIS = 250;

  /** A refused request's body is read this far (if it has arrived) to keep its connection. */
  private static final long DRAIN_BYTES = 64 * 1024;

  /**
   * Body size caps and connection limits.
   *
   * @param jsonBytes the start request's JSON (which may carry files in base64)
   * @param fileBytes one file put into an instance folder
   * @param connections how many connections, and how long they may stall
   */
  public record Limits(long jsonBytes, long fileBytes, Connections connections) {
    public static final Limits DEFAULT = new Limits(16L << 20, 64L << 20);

    public Limits(long jsonBytes, long fileBytes) {
      this(jsonBytes, fileBytes, Connections.DEFAULT);
    }
  }

  /**
   * What keeps clients that connect and stall from starving the others. A stalled connection holds
   * no thread, only a socket, and only for a while: its first request's line and headers must
   * arrive whole within {@code headerDeadline} of connecting, and any connection with no traffic
   * for {@code idleTimeout} (between requests, or while a request body or a response stalls) is
   * closed. At {@code maxConnections} open connections the server stops accepting more (they wait
   * in the kernel's backlog) and closes idle ones after {@code idleTimeoutWhenFull} instead, until
   * it is below the cap again.
   *
   * @param maxConnections open connections at most
   * @param headerDeadline time from connecting to the end of the first request's headers
   * @param idleTimeout time without any traffic on a connection
   * @param idleTimeoutWhenFull the idle timeout while the cap is reached
   */
  public record Connections(
      int maxConnections,
      Duration headerDeadline,
      Duration idleTimeout,
      Duration idleTimeoutWhenFull) {
    public static final Connections DEFAULT =
        new Connections(
            1024, Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(5));

    public Connections {
      if (maxConnections < 1
          || headerDeadline.isNegative()
          || headerDeadline.isZero()
          || idleTimeout.isNegative()
          || idleTimeout.isZero()
          || idleTimeoutWhenFull.isNegative()
          || idleTimeoutWhenFull.isZero()) {
        throw new IllegalArgumentException(
            "connection limits must be positive: "
                + maxConnections
                + " connections, "
                + headerDeadline
                + " header deadline, "
                + idleTimeout
                + " idle timeout, "
                + idleTimeoutWhenFull
                + " when full");
      }
    }
  }

  /**
   * What the API serves, besides the manager.
   *
   * @param manager the instance lifecycle
   * @param library the machine library
   * @param host facts about the host that do not change while the daemon runs
   * @param metrics counters the API feeds and exposes
   * @param bootstraps toolchains and bootstrapped states
   * @param fleet the fleet's etcd, when the daemon is in one
   */
  public record Services(
      InstanceManager manager,
      MachineLibrary library,
      HostFacts host,
      Metrics metrics,
      Bootstraps bootstraps,
      Optional<Fleet> fleet) {

    /** Services of a daemon in no fleet. */
    public Services(
        InstanceManager manager,
        MachineLibrary library,
        HostFacts host,
        Metrics metrics,
        Bootstraps bootstraps) {
      this(manager, library, host, metrics, bootstraps, Optional.empty());
    }

    /** Services whose toolchains and bootstrapped states are found under the host's folders. */
    public Services(
        InstanceManager manager, MachineLibrary library, HostFacts host, Metrics metrics) {
      this(
          manager,
          library,
          host,
          metrics,
          new Bootstraps(
              manager,
              library,
              new Toolchains(Path.of(host.root()).resolve("tftp").resolve("toolchain"), Map.of()),
              new StateStore(Path.of(host.stateDir())),
              List.of(),
              Clock.systemUTC()));
    }
  }

  /** Host facts fixed at startup; {@link HostInfo} adds what changes. */
  public record HostFacts(
      String version,
      String acceleration,
      String accelerationReason,
      Map<String, String> versions,
      int maxInstances,
      long ramBudgetMib,
      HostInfo.Tftp tftp,
      String root,
      String stateDir,
      HostInfo.Network network) {}

  private final InetSocketAddress listen;
  private final byte[] token;
  private final Services services;
  private final InstanceManager manager;
  private final Bootstraps bootstraps;
  private final Limits limits;
  private final Router router = new Router();
  private final EventStream events;
  private final List<Runnable> hostChanges = new CopyOnWriteArrayList<>();
  private Server jetty;
  private HttpServer server;
  private HeaderDeadline headerDeadline;
  private ScheduledExecutorService deadlines;
  private volatile boolean closing;

  public ApiServer(InetSocketAddress listen, String token, Services services, Limits limits) {
    this.listen = listen;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.services = services;
    this.manager = services.manager();
    this.bootstraps = services.bootstraps();
    this.limits = limits;
    this.events = new EventStream(manager);
    router
        .addPublic("GET", "/metrics", this::metrics)
        .add("GET", "/v1/host", r -> r.sendJson(200, host()))
        .add("POST", "/v1/host/drain", r -> drain(r, true))
        .add("DELETE", "/v1/host/drain", r -> drain(r, false))
        .add(
            "GET",
            "/v1/machines",
            r ->
                r.sendJson(
                    200,
                    Views.machines(services.library().machines(), services.bootstraps().states())))
        .add(
            "GET",
            "/v1/machines/{}",
            r ->
                r.sendJson(
                    200,
                    Views.machine(
                        services.library().machine(r.param(0)),
                        services.bootstraps().states(r.param(0)))))
        .add("POST", "/v1/machines/{}/bootstrap", this::bootstrap)
        .add("POST", "/v1/bootstrapped/prune", this::prune)
        .add("GET", "/v1/instances", r -> r.sendJson(200, instances(manager.list())))
        .add("POST", "/v1/instances", this::start)
        .add("GET", "/v1/instances/{}", r -> r.sendJson(200, instance(manager.get(r.param(0)))))
        .add(
            "DELETE",
            "/v1/instances/{}",
            r -> {
              manager.delete(r.param(0));
              r.sendEmpty(204);
            })
        .add(
            "POST",
            "/v1/instances/{}/poweroff",
            r -> r.sendJson(200, instance(manager.poweroff(r.param(0)))))
        .add(
            "POST",
            "/v1/instances/{}/terminate",
            r -> r.sendJson(200, instance(manager.terminate(r.param(0)))))
        .add("POST", "/v1/instances/{}/publish", this::publish)
        .add(
            "GET",
            "/v1/instances/{}/files",
            r -> r.sendJson(200, Views.files(manager.listFiles(r.param(0)))))
        .add("GET", "/v1/instances/{}/files/{*}", this::getFile)
        .add("PUT", "/v1/instances/{}/files/{*}", this::putFile)
        .add("GET", "/v1/instances/{}/console", this::console)
        .add("GET", "/v1/events", events::handle)
        .add("GET", "/v1/fleet/hosts", r -> r.sendJson(200, fleetHosts()))
        .add("GET", "/v1/fleet/instances", r -> r.sendJson(200, fleetInstances()))
        .add("GET", "/v1/fleet/reboots", r -> r.sendJson(200, fleetReboots()));
  }

  /** Calls {@code listener} after a change of the host that no instance event shows (a drain). */
  public void onHostChange(Runnable listener) {
    hostChanges.add(listener);
  }

  private void hostChanged() {
    hostChanges.forEach(Runnable::run);
  }

  /** This host's record in its fleet, as it is now. */
  public FleetHostView fleetRecord(String hostName) {
    List<Instance> all = manager.list();
    Map<String, Integer> byState = new TreeMap<>();
    for (Instance i : all) {
      byState.merge(i.state().name(), 1, Integer::sum);
    }
    return new FleetHostView(
        hostName,
        Instant.now(),
        OsRelease.buildId(),
        byState,
        host(),
        Views.machines(services.library().machines(), services.bootstraps().states()),
        instances(all));
  }

  private Fleet fleet() {
    return services
        .fleet()
        .orElseThrow(
            () ->
                new ApiException(
                    404,
                    "this daemon is in no fleet",
                    "set fleet_endpoints in the daemon's config (doc/fleet.md)"));
  }

  private static ApiException etcdDown(FleetException e) {
    return new ApiException(
        503, e.getMessage(), "the fleet's etcd cluster must answer; see doc/fleet.md");
  }

  private List<FleetHostView> fleetHosts() {
    Fleet fleet = fleet();
    List<HostRegistry.Registered> records;
    try {
      records = HostRegistry.hosts(fleet);
    } catch (FleetException e) {
      throw etcdDown(e);
    }
    List<FleetHostView> hosts = new ArrayList<>();
    for (HostRegistry.Registered r : records) {
      try {
        hosts.add(Json.MAPPER.readValue(r.record(), FleetHostView.class));
      } catch (IOException e) {
        log.warn(
            "fleet: the record of host {} is not a host record, left out: {}",
            r.host(),
            e.getMessage());
      }
    }
    return hosts;
  }

  /** The reboot slots as the monitors keep them; reading takes no lease and writes nothing. */
  private FleetRebootsView fleetReboots() {
    Fleet fleet = fleet();
    try (RebootSemaphore semaphore = new RebootSemaphore(fleet, Clock.systemUTC())) {
      return Views.reboots(semaphore.read(), semaphore.slotTimeout());
    } catch (FleetException e) {
      throw etcdDown(e);
    }
  }

  private List<FleetInstanceView> fleetInstances() {
    List<FleetInstanceView> instances = new ArrayList<>();
    for (FleetHostView host : fleetHosts()) {
      host.instances().forEach(i -> instances.add(new FleetInstanceView(host.host(), i)));
    }
    return instances;
  }

  /**
   * Every route this server answers (OpenApiRoutesTest checks them against doc/api/openapi.yaml).
   */
  List<Router.Route> routes() {
    return router.routes();
  }

  /**
   * Binds the listen address and starts serving; returns this. The server is Jetty behind the JDK's
   * {@code com.sun.net.httpserver} interface (jetty-http-spi): the handlers are written for that
   * interface, and the JDK's own server reads request headers on a pool thread with no deadline a
   * handler-friendly setting could bound, so a few hundred clients that send one byte and stall
   * would hold every thread.
   */
  public ApiServer start() throws IOException {
    Connections limitsOfConnections = limits.connections();
    QueuedThreadPool threads = new QueuedThreadPool(MAX_THREADS, MIN_THREADS);
    threads.setName("api");
    threads.setDaemon(true);
    jetty = new Server(threads);
    ServerConnector connector =
        new ServerConnector(jetty, 1, 1, new HttpConnectionFactory(httpConfiguration()));
    connector.setHost(
        listen.getAddress() == null
            ? listen.getHostString()
            : listen.getAddress().getHostAddress());
    connector.setPort(listen.getPort());
    connector.setAcceptQueueSize(BACKLOG);
    connector.setIdleTimeout(limitsOfConnections.idleTimeout().toMillis());
    deadlines = Threads.timers("api-header-deadline");
    headerDeadline = new HeaderDeadline(limitsOfConnections.headerDeadline(), deadlines);
    connector.addBean(headerDeadline);
    jetty.addConnector(connector);
    NetworkConnectionLimit cap =
        new NetworkConnectionLimit(limitsOfConnections.maxConnections(), connector);
    cap.setEndPointIdleTimeout(limitsOfConnections.idleTimeoutWhenFull().toMillis());
    jetty.addBean(cap);
    headerDeadline.setHandler(new ContextHandlerCollection());
    jetty.setHandler(headerDeadline);
    server = new JettyHttpServer(jetty, false);
    server.bind(listen, BACKLOG);
    server.createContext("/", this::dispatch);
    try {
      server.start();
    } catch (RuntimeException e) {
      close();
      throw new IOException(
          "cannot serve the API on "
              + Addresses.hostPort(listen)
              + ": "
              + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage()),
          e);
    }
    return this;
  }

  private static HttpConfiguration httpConfiguration() {
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    http.setRequestHeaderSize(MAX_HEADER_BYTES);
    // The routes see the raw path and refuse what they cannot use with an ApiError naming it
    // (e.g. an encoded '/' in a file name); Jetty's default would answer such paths itself.
    http.setUriCompliance(UriCompliance.UNSAFE);
    return http;
  }

  /** Connections closed so far because their first request's headers did not arrive in time. */
  public long connectionsClosedForHeaderDeadline() {
    return headerDeadline == null ? 0 : headerDeadline.closedCount();
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  /**
   * The base URL clients on this host use, e.g. {@code http://127.0.0.1:7346}: the loopback address
   * when the API listens on every address (a wildcard address is no place to connect to).
   */
  public URI url() {
    InetSocketAddress address = address();
    if (address.getAddress().isAnyLocalAddress()) {
      address = new InetSocketAddress(InetAddress.getLoopbackAddress(), address.getPort());
    }
    return URI.create("http://" + Addresses.hostPort(address));
  }

  /** Stops accepting requests, ends event streams and waits a moment for answers in flight. */
  @Override
  public void close() {
    closing = true;
    events.close();
    if (server != null) {
      server.stop(1);
    } else if (jetty != null) {
      try {
        jetty.stop();
      } catch (Exception e) {
        log.debug("stopping the API server: {}", e.toString());
      }
    }
    if (deadlines != null) {
      deadlines.shutdownNow();
    }
  }

  private void dispatch(HttpExchange exchange) {
    int status;
    try {
      status = handle(exchange);
    } finally {
      try {
        exchange.close();
      } catch (RuntimeException e) {
        // Jetty's exchange reports a client that went away as an exception on close
        log.debug(
            "{} {}: client went away: {}",
            exchange.getRequestMethod(),
            exchange.getRequestURI(),
            e.toString());
      }
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
        throw new ApiException(
            503, "the daemon is shutting down", "start it again with `buildhost daemon`");
      }
      if (match.route() == null) {
        if (!match.allowedMethods().isEmpty()) {
          exchange.getResponseHeaders().set("Allow", String.join(", ", match.allowedMethods()));
          throw new ApiException(
              405,
              exchange.getRequestMethod() + " is not allowed on " + uri.getRawPath(),
              "use " + String.join(" or ", match.allowedMethods()));
        }
        throw new ApiException(
            404,
            "no such endpoint: " + exchange.getRequestMethod() + " " + uri.getRawPath(),
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
        log.warn(
            "{} {} -> {}: {}",
            exchange.getRequestMethod(),
            uri.getRawPath(),
            error.status(),
            error.getMessage(),
            error.status() == 500 ? e : null);
      }
      if (exchange.getResponseCode() > 0) {
        return exchange
            .getResponseCode(); // a streamed answer broke midway: nothing more can be said
      }
      if (!bodyConsumed(exchange)) {
        // The client may still be sending a body nobody will read: end the connection after the
        // answer, and say so, so that the client does not send its next request on it.
        exchange.getResponseHeaders().set("Connection", "close");
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
   * The answer for a failure: a body over its limit wherever it shows in the causes, the manager's
   * refusals by kind, 500 for bugs; null when the client went away (plain I/O error).
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
    return new ApiException(
        500, "internal error: " + e, "see the daemon's log; report it if it persists");
  }

  /**
   * Whether the request has no body left to read, after reading what has arrived already (a refused
   * request's small body, without waiting for more: a client that trickles a body must not hold a
   * thread).
   */
  private static boolean bodyConsumed(HttpExchange exchange) {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    boolean chunked = exchange.getRequestHeaders().containsKey("Transfer-Encoding");
    long declared;
    try {
      declared = length == null ? 0 : Long.parseLong(length.strip());
    } catch (NumberFormatException e) {
      return false;
    }
    if (!chunked && declared == 0) {
      return true;
    }
    try {
      InputStream body = exchange.getRequestBody();
      byte[] buffer = new byte[8192];
      long read = 0;
      while (read < DRAIN_BYTES && body.available() > 0) {
        int n =
            body.read(
                buffer,
                0,
                (int) Math.min(buffer.length, Math.min(body.available(), DRAIN_BYTES - read)));
        if (n < 0) {
          return true;
        }
        read += n;
      }
      return !chunked && read == declared;
    } catch (IOException e) {
      return false;
    }
  }

  private void authenticate(HttpExchange exchange) {
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    String hint =
        "send 'Authorization: Bearer <token>' with the token from the file api-token in the "
            + "daemon's state folder ("
            + services.host().stateDir()
            + ")";
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
    // As the capacity counts: an UNKNOWN instance only while a guest of it may run.
    int active = (int) manager.list().stream().filter(i -> Views.instance(i).guestMayRun()).count();
    return new HostInfo(
        facts.version(),
        facts.acceleration(),
        facts.accelerationReason(),
        new HostInfo.Capacity(facts.maxInstances(), active, facts.ramBudgetMib()),
        facts.versions(),
        manager.isDraining(),
        facts.tftp(),
        facts.root(),
        facts.stateDir(),
        Views.journal(manager.journalHealth()),
        facts.network(),
        bootstraps.toolchains().current().values().stream()
            .map(t -> new HostInfo.ToolchainInfo(t.name(), t.id(), t.source()))
            .toList(),
        bootstrapped());
  }

  private HostInfo.Bootstrapped bootstrapped() {
    List<Bootstraps.StateInfo> states = bootstraps.states();
    int stale = (int) states.stream().filter(s -> !s.current()).count();
    return new HostInfo.Bootstrapped(states.size(), stale, bootstraps.diskUse());
  }

  /** The instance with the bootstrapped state it started from and where its disk is kept. */
  private InstanceView instance(Instance instance) {
    return Views.instance(instance, manager.disk(instance.id()));
  }

  private List<InstanceView> instances(List<Instance> instances) {
    return instances.stream().map(this::instance).toList();
  }

  private void bootstrap(Request request) throws IOException {
    StartRequest start =
        StartRequests.bootstrap(
            request.param(0), request.json(BootstrapBody.class, limits.jsonBytes()));
    Instance instance;
    try {
      instance = bootstraps.bootstrap(start);
    } catch (ManagerException e) {
      services.metrics().onStartRefused(e.kind().name());
      throw e;
    }
    request.exchange().getResponseHeaders().set("Location", "/v1/instances/" + instance.id());
    request.sendJson(201, instance(instance));
  }

  private void publish(Request request) throws IOException {
    PublishBody body = request.json(PublishBody.class, limits.jsonBytes());
    if (body == null || body.revision() == null || body.revision().isBlank()) {
      throw new ApiException(
          400,
          "the field 'revision' is missing",
          "name the new revision: {\"revision\": \"sample-vm-1.1\"}");
    }
    PublishedRevision published =
        manager.publish(request.param(0), body.revision(), Boolean.TRUE.equals(body.service()));
    request.sendJson(
        201,
        new PublishView(
            published.machine(),
            published.version(),
            published.folder().toString(),
            published.inService()));
  }

  private void prune(Request request) throws IOException {
    // Each fails before anything of the next is removed: the answer names all that was removed.
    Set<RevisionName> left = services.library().revisionFolders();
    List<String> removedImages = manager.removeLeftoversExcept(left);
    List<String> removed = bootstraps.prune();
    hostChanged();
    List<String> kept = bootstraps.states().stream().map(s -> s.state().id()).toList();
    request.sendJson(200, new PruneView(removed, kept, removedImages));
  }

  private void drain(Request request, boolean draining) throws IOException {
    if (manager.isDraining() != draining) {
      manager.setDraining(draining);
      hostChanged();
      log.info(
          "host {}",
          draining ? "draining: new starts are refused" : "no longer draining: starts accepted");
    }
    request.sendJson(200, host());
  }

  private void metrics(Request request) throws IOException {
    request.sendText(
        200,
        Metrics.CONTENT_TYPE,
        services
                .metrics()
                .render(
                    manager.list(),
                    manager.isDraining(),
                    events.openStreams(),
                    manager.journalHealth())
            + bootstrappedMetrics());
  }

  private String bootstrappedMetrics() {
    HostInfo.Bootstrapped use = bootstrapped();
    return Metrics.renderBootstrapped(use.states(), use.stale(), use.diskBytes());
  }

  private void start(Request request) throws IOException {
    StartRequest start = StartRequests.from(request.json(StartBody.class, limits.jsonBytes()));
    Instance instance;
    try {
      instance = bootstraps.start(start);
    } catch (ManagerException e) {
      services.metrics().onStartRefused(e.kind().name());
      throw e;
    }
    request.exchange().getResponseHeaders().set("Location", "/v1/instances/" + instance.id());
    request.sendJson(201, instance(instance));
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
        if (e.kind() != ManagerException.Kind.NOT_FOUND || closing || stopped(id)) {
          throw e;
        }
      }
      sleep();
    }
  }

  private boolean stopped(String id) {
    try {
      // An UNKNOWN instance's guest is not watched: nothing would ever end the stream.
      InstanceState state = manager.get(id).state();
      return state == InstanceState.STOPPED || state == InstanceState.UNKNOWN;
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
