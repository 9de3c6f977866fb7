package dev.buildhost.fleet;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A real etcd cluster for tests: members started from Debian's {@code etcd} on 127.0.0.1 with free
 * ports, their data and logs in a folder of the test's. Members are stopped, killed and restarted
 * by their own process (PID), never by name. {@link #close} stops every member and waits for it.
 */
public final class EtcdCluster implements AutoCloseable {

  /** The etcd binary; Debian's package {@code etcd-server} (scripts/host-setup installs it). */
  public static final Path ETCD = Path.of("/usr/bin/etcd");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Pattern MEMBER_ID = Pattern.compile("\"member_id\"\\s*:\\s*\"?(\\d+)");
  private static final Pattern LEADER = Pattern.compile("\"leader\"\\s*:\\s*\"?(\\d+)");

  private final Path dir;
  private final List<Member> members;
  private final Tls tls;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * The members' server certificate for https client URLs, and the CA whose client certificates
   * they accept (they refuse clients without one).
   *
   * @param caFile the CA certificate (PEM)
   * @param certFile the members' certificate (PEM), valid for 127.0.0.1
   * @param keyFile its key (PEM)
   */
  public record Tls(Path caFile, Path certFile, Path keyFile) {}

  /**
   * One member: its name ({@code e1}), client, peer and metrics ports and, while it runs, its
   * process.
   */
  public static final class Member {
    private final String name;
    private final String scheme;
    private final int clientPort;
    private final int peerPort;
    private final int metricsPort;
    private Process process;

    Member(String name, String scheme, int clientPort, int peerPort, int metricsPort) {
      this.name = name;
      this.scheme = scheme;
      this.clientPort = clientPort;
      this.peerPort = peerPort;
      this.metricsPort = metricsPort;
    }

    public String name() {
      return name;
    }

    public URI endpoint() {
      return URI.create(scheme + "://127.0.0.1:" + clientPort);
    }

    /** Plain http /health and /metrics, whatever the client URL's scheme. */
    URI metricsUrl() {
      return URI.create("http://127.0.0.1:" + metricsPort);
    }

    URI peerUrl() {
      return URI.create("http://127.0.0.1:" + peerPort);
    }

    /** The running process's PID, or empty when it is not running. */
    public Optional<Long> pid() {
      Process p = process;
      return p != null && p.isAlive() ? Optional.of(p.pid()) : Optional.empty();
    }

    @Override
    public String toString() {
      return name + "(" + endpoint() + ", pid " + pid().map(String::valueOf).orElse("none") + ")";
    }
  }

  private EtcdCluster(Path dir, List<Member> members, Tls tls) {
    this.dir = dir;
    this.members = List.copyOf(members);
    this.tls = tls;
  }

  /**
   * Starts {@code size} members in {@code dir} and waits until each answers as healthy.
   *
   * @throws IllegalStateException when etcd is not installed or the cluster does not come up
   */
  public static EtcdCluster start(Path dir, int size) throws IOException {
    return start(dir, size, null);
  }

  /**
   * Starts {@code size} members in {@code dir} serving https with {@code tls} (plain http when it
   * is null) and waits until each answers as healthy.
   */
  public static EtcdCluster start(Path dir, int size, Tls tls) throws IOException {
    if (!Files.isExecutable(ETCD)) {
      throw new IllegalStateException(
          ETCD + " is missing: install etcd-server (scripts/host-setup does)");
    }
    Files.createDirectories(dir);
    List<Member> members = new ArrayList<>();
    List<Integer> ports = freePorts(3 * size);
    for (int i = 0; i < size; i++) {
      members.add(
          new Member(
              "e" + (i + 1),
              tls == null ? "http" : "https",
              ports.get(3 * i),
              ports.get(3 * i + 1),
              ports.get(3 * i + 2)));
    }
    EtcdCluster cluster = new EtcdCluster(dir, members, tls);
    try {
      for (Member m : members) {
        cluster.launch(m, "new");
      }
      for (Member m : members) {
        cluster.awaitHealthy(m);
      }
      return cluster;
    } catch (RuntimeException | IOException e) {
      cluster.close();
      throw e;
    }
  }

  public List<Member> members() {
    return members;
  }

  /** Every member's client URL. */
  public List<URI> endpoints() {
    return members.stream().map(Member::endpoint).toList();
  }

  /** The endpoints as {@code fleet_endpoints} takes them. */
  public String endpointsText() {
    return endpoints().stream().map(URI::toString).collect(Collectors.joining(","));
  }

  /**
   * The member the running members agree is the leader; waits for one to be elected. Asks their
   * http client URLs: a cluster started with {@link Tls} has none to ask.
   */
  public Member leader() {
    return await("a leader among " + members)
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(200))
        .until(this::currentLeader, Optional::isPresent)
        .orElseThrow();
  }

  private Optional<Member> currentLeader() {
    for (Member m : members) {
      if (m.pid().isEmpty()) {
        continue;
      }
      Optional<String> status = post(m, "/v3/maintenance/status");
      if (status.isEmpty()) {
        continue;
      }
      Matcher id = MEMBER_ID.matcher(status.get());
      Matcher leader = LEADER.matcher(status.get());
      if (id.find() && leader.find() && id.group(1).equals(leader.group(1))) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  /** Kills the leader with SIGKILL and waits for its process to end; returns it. */
  public Member killLeader() {
    Member leader = leader();
    kill(leader);
    return leader;
  }

  /** Kills {@code member}'s process (SIGKILL) and waits for it to end. */
  public void kill(Member member) {
    Process p = member.process;
    if (p != null) {
      p.destroyForcibly();
      waitFor(member, p);
    }
  }

  /** Stops {@code member} with SIGTERM (SIGKILL after a while) and waits for it to end. */
  public void stop(Member member) {
    Process p = member.process;
    if (p != null && p.isAlive()) {
      p.destroy();
      try {
        if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
      waitFor(member, p);
    }
  }

  /** Starts a stopped or killed member again on its data and waits until it is healthy. */
  public void restart(Member member) throws IOException {
    if (member.pid().isPresent()) {
      throw new IllegalStateException(member + " still runs");
    }
    launch(member, "existing");
    awaitHealthy(member);
  }

  /** Stops every member and waits for each. */
  @Override
  public void close() {
    for (Member m : members) {
      Process p = m.process;
      if (p != null && p.isAlive()) {
        p.destroy();
      }
    }
    for (Member m : members) {
      stop(m);
    }
  }

  private void launch(Member m, String state) throws IOException {
    String initialCluster =
        members.stream().map(x -> x.name + "=" + x.peerUrl()).collect(Collectors.joining(","));
    Path log = dir.resolve(m.name + ".log");
    List<String> command =
        new ArrayList<>(
            List.of(
                ETCD.toString(),
                "--name=" + m.name,
                "--data-dir=" + dir.resolve(m.name + ".etcd"),
                "--listen-client-urls=" + m.endpoint(),
                "--advertise-client-urls=" + m.endpoint(),
                "--listen-peer-urls=" + m.peerUrl(),
                "--initial-advertise-peer-urls=" + m.peerUrl(),
                "--initial-cluster=" + initialCluster,
                "--initial-cluster-state=" + state,
                "--initial-cluster-token=" + dir.getFileName(),
                // The test machine is loaded: slower heartbeats keep leaders from changing by
                // themselves, so that a test sees only the leader changes it makes.
                "--heartbeat-interval=200",
                "--election-timeout=2000",
                "--listen-metrics-urls=" + m.metricsUrl(),
                "--logger=zap",
                "--log-outputs=stderr"));
    if (tls != null) {
      command.addAll(
          List.of(
              "--cert-file=" + tls.certFile(),
              "--key-file=" + tls.keyFile(),
              "--trusted-ca-file=" + tls.caFile(),
              "--client-cert-auth"));
    }
    m.process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
  }

  private void awaitHealthy(Member m) {
    await(m + " healthy (log: " + dir.resolve(m.name + ".log") + ")")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              if (m.pid().isEmpty()) {
                throw new IllegalStateException(
                    m.name + " exited; see " + dir.resolve(m.name + ".log"));
              }
              return send(HttpRequest.newBuilder(m.metricsUrl().resolve("/health")).GET())
                  .map(body -> body.contains("\"true\""))
                  .orElse(false);
            });
  }

  private Optional<String> post(Member m, String path) {
    return send(
        HttpRequest.newBuilder(m.endpoint().resolve(path))
            .POST(HttpRequest.BodyPublishers.ofString("{}")));
  }

  private Optional<String> send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> response =
          http.send(
              request.timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? Optional.of(response.body()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static void waitFor(Member member, Process p) {
    try {
      if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(member + " did not end after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for " + member, e);
    }
  }

  private static List<Integer> freePorts(int count) {
    // All held open at once so that no two are the same; etcd binds them right after.
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          s.close();
        } catch (IOException e) {
          // a port we only looked at
        }
      }
    }
  }
}
