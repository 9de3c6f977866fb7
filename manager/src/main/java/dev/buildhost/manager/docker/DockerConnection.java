package dev.buildhost.manager.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.core.SSLConfig;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.classpath.OptionalLibraries;
import dev.buildhost.manager.docker.transport.UnixSocketTransport;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The connection to one Docker engine, opened on first use so that a manager whose engine is down
 * still starts (and serves its VMs); every use while the engine is unreachable fails with a message
 * that says which engine and what to check.
 */
final class DockerConnection implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  // Deprecated: the type of Builder.withCustomSslConfig, the one way docker-java's builder takes
  // "not its own TLS settings" (a docker context can turn its verify flag back on at build).
  @SuppressWarnings("deprecation")
  private static final SSLConfig NO_TLS_ON_A_UNIX_SOCKET =
      () -> {
        throw new IllegalStateException("an engine on a unix socket is reached without TLS");
      };

  private final String host;
  private DockerHttpClient http;
  private DockerClient client;
  private boolean closed;

  DockerConnection(String host) {
    this.host = host;
  }

  String host() {
    return host;
  }

  /** The client, connecting (and checking the engine answers) on first use. */
  synchronized DockerClient client() throws BackendException {
    if (closed) {
      throw new BackendException("the Docker backend is closed");
    }
    if (client == null) {
      if (!onUnixSocket(host)) {
        requireTlsLibraries();
      }
      DockerHttpClient newHttp = null;
      try {
        DockerClientConfig config = configFor(host);
        newHttp = transportFor(config);
        DockerClient newClient = DockerClientImpl.getInstance(config, newHttp);
        newClient.pingCmd().exec();
        http = newHttp;
        client = newClient;
      } catch (RuntimeException e) {
        closeQuietly(newHttp);
        throw unreachable(e);
      }
    }
    return client;
  }

  private static boolean onUnixSocket(String host) {
    return host.startsWith("unix:");
  }

  /**
   * docker-java's settings for the engine at {@code host}. An engine on a unix socket has no TLS,
   * whatever docker-java's own files ({@code DOCKER_TLS_VERIFY} in the environment, {@code
   * ~/.docker-java.properties}, a docker context) say: building their TLS settings would need
   * Bouncy Castle, which the daemon adds only for an engine over TCP.
   */
  static DockerClientConfig configFor(String host) {
    DefaultDockerClientConfig.Builder builder =
        DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host);
    if (onUnixSocket(host)) {
      builder.withCustomSslConfig(NO_TLS_ON_A_UNIX_SOCKET);
    }
    return builder.build();
  }

  /**
   * Bouncy Castle is one of the daemon's optional libraries (OptionalLibraries): docker-java needs
   * it as soon as it builds TLS settings, which an engine over TCP may have.
   */
  private void requireTlsLibraries() throws BackendException {
    try {
      OptionalLibraries.require(OptionalLibraries.Group.DOCKER_TLS);
    } catch (IOException e) {
      throw new BackendException(
          "cannot connect to the Docker engine at " + host + " over TLS: " + e.getMessage(), e);
    }
  }

  /**
   * The HTTP transport for the engine: the JDK's unix-domain sockets for a unix socket,
   * docker-java's shipped client (Apache HttpClient) for TCP, plain or TLS. Only the second loads
   * that client's classes (bench/footprint).
   */
  static DockerHttpClient transportFor(DockerClientConfig config) {
    URI engine = config.getDockerHost();
    if ("unix".equals(engine.getScheme())) {
      return new UnixSocketTransport(Path.of(engine.getPath()));
    }
    return TcpTransport.create(config);
  }

  /** Apart, so that its classes are loaded only for an engine over TCP. */
  private static final class TcpTransport {
    static DockerHttpClient create(DockerClientConfig config) {
      return new ZerodepDockerHttpClient.Builder()
          .dockerHost(config.getDockerHost())
          .sslConfig(config.getSSLConfig())
          .connectionTimeout(Duration.ofSeconds(5))
          .maxConnections(512)
          .build();
    }
  }

  /** The raw HTTP transport of {@link #client()}, for the calls docker-java does not model. */
  synchronized DockerHttpClient http() throws BackendException {
    client();
    return http;
  }

  /**
   * A {@link BackendException} for a failed engine call: "cannot reach the engine" when the
   * connection failed, else {@code what} and the engine's own message.
   */
  BackendException failure(String what, Throwable e) {
    if (isConnectionFailure(e)) {
      return unreachable(e);
    }
    return new BackendException(what + ": " + engineMessage(e), e);
  }

  BackendException unreachable(Throwable e) {
    return new BackendException(
        "cannot reach the Docker engine at "
            + host
            + ": "
            + rootMessage(e)
            + " — is dockerd running?",
        e);
  }

  /** The engine's error text from a docker-java exception ("Status 404: {"message":"..."}"). */
  static String engineMessage(Throwable e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage().strip();
    if (e instanceof DockerException) {
      int brace = message.indexOf('{');
      if (brace >= 0) {
        try {
          JsonNode json = JSON.readTree(message.substring(brace));
          if (json.hasNonNull("message")) {
            return json.get("message").asText();
          }
        } catch (IOException notJson) {
          // keep the whole text
        }
      }
    }
    return message;
  }

  /**
   * Whether {@code e} says the engine could not be connected to at all (not: a call went wrong).
   */
  private static boolean isConnectionFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof DockerException) {
        return false;
      }
      if (t instanceof ConnectException) {
        return true;
      }
      String message = t.getMessage() == null ? "" : t.getMessage();
      if (t instanceof SocketException
          && (message.contains("No such file")
              || message.contains("Connection refused")
              || message.contains("Permission denied"))) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }

  @Override
  public synchronized void close() {
    closed = true;
    closeQuietly(http);
    http = null;
    client = null;
  }

  private static void closeQuietly(DockerHttpClient http) {
    if (http != null) {
      try {
        http.close();
      } catch (IOException | RuntimeException ignored) {
        // closing a connection pool that failed anyway
      }
    }
  }
}
