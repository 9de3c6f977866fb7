package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that connect and stall (slowloris) against the real API server on 127.0.0.1: they must
 * neither keep authenticated requests from being answered nor hold their connections for ever.
 */
class ApiServerStallTest {

  /** Short, so that the test sees the server close stalled connections; the default is 10 s. */
  private static final Duration HEADER_DEADLINE = Duration.ofSeconds(2);

  /** Far longer than the header deadline: what closes the stalled connections is the deadline. */
  private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);

  private static final int STALLED = 300;

  @TempDir Path root;
  private Daemon daemon;
  private final List<Socket> sockets = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void closeEverything() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  private void startDaemon(int maxConnections) throws IOException {
    ApiServer.Connections connections =
        new ApiServer.Connections(
            maxConnections, HEADER_DEADLINE, IDLE_TIMEOUT, Duration.ofSeconds(30));
    daemon = TestDaemons.start(root, new ApiServer.Limits(4096, 8192, connections));
  }

  /** Connects and sends the first byte of a request line, then nothing. */
  private Socket stall() throws IOException {
    Socket socket = new Socket();
    sockets.add(socket);
    socket.connect(new InetSocketAddress(daemon.url().getHost(), daemon.url().getPort()), 5000);
    socket.getOutputStream().write('G');
    socket.getOutputStream().flush();
    return socket;
  }

  private HttpResponse<String> authenticated(String path) throws Exception {
    String token = Files.readString(root.resolve("state/api-token")).strip();
    return http.send(
        HttpRequest.newBuilder(daemon.url().resolve(path))
            .timeout(Duration.ofSeconds(5))
            .header("Authorization", "Bearer " + token)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void hundredsOfStalledConnectionsNeitherStarveAuthenticatedRequestsNorStayOpen()
      throws Exception {
    startDaemon(ApiServer.Connections.DEFAULT.maxConnections());
    long began = System.nanoTime();
    for (int i = 0; i < STALLED; i++) {
      stall();
    }

    // Answered at once (the 5 s request timeout is the bound), while every stalled one is still
    // open.
    HttpResponse<String> instances = authenticated("/v1/instances");
    assertEquals(200, instances.statusCode(), instances.body());
    HttpResponse<String> host = authenticated("/v1/host");
    assertEquals(200, host.statusCode(), host.body());
    assertTrue(
        System.nanoTime() - began < HEADER_DEADLINE.toNanos(),
        "the answers came before the deadline freed anything: the stalled connections did not hold them up");

    for (Socket socket : sockets) {
      assertClosedByServer(socket, began);
    }
    assertEquals(200, authenticated("/v1/instances").statusCode());
  }

  @Test
  void aClientTricklingItsHeadersIsClosedAtTheDeadlineThoughNeverIdle() throws Exception {
    startDaemon(ApiServer.Connections.DEFAULT.maxConnections());
    Socket socket = stall();
    long began = System.nanoTime();
    byte[] rest = "ET /v1/instances HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII);
    boolean closed = false;
    // A byte every 100 ms resets any idle timeout; only the header deadline ends it.
    for (int i = 0; i < rest.length * 4 && !closed; i++) {
      try {
        socket.getOutputStream().write(rest[i % rest.length]);
        socket.getOutputStream().flush();
      } catch (SocketException e) {
        closed = true;
      }
      TimeUnit.MILLISECONDS.sleep(100);
      closed = closed || serverClosed(socket);
    }
    assertTrue(closed, "the trickling connection must be closed");
    long took = System.nanoTime() - began;
    assertTrue(
        took >= HEADER_DEADLINE.toNanos() - TimeUnit.MILLISECONDS.toNanos(300),
        "not before the deadline: " + took);
    assertTrue(took < HEADER_DEADLINE.toNanos() * 3, "soon after the deadline: " + took);
  }

  @Test
  void atTheConnectionCapAuthenticatedRequestsAreAnsweredOnceTheStalledOnesAreClosed()
      throws Exception {
    int cap = 40;
    startDaemon(cap);
    long began = System.nanoTime();
    for (int i = 0; i < cap * 2; i++) {
      stall(); // the first `cap` are accepted; the others wait in the backlog
    }
    HttpRequest request =
        HttpRequest.newBuilder(daemon.url().resolve("/v1/instances"))
            .timeout(HEADER_DEADLINE.multipliedBy(5))
            .header(
                "Authorization",
                "Bearer " + Files.readString(root.resolve("state/api-token")).strip())
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(System.nanoTime() - began < HEADER_DEADLINE.toNanos() * 5);
    for (Socket socket : sockets) {
      assertClosedByServer(socket, began);
    }
  }

  @Test
  void aRefusedRequestWhoseBodyIsStillComingIsAnsweredAtOnceAndTheConnectionEnds()
      throws Exception {
    startDaemon(ApiServer.Connections.DEFAULT.maxConnections());
    Socket socket = new Socket(daemon.url().getHost(), daemon.url().getPort());
    sockets.add(socket);
    socket.setSoTimeout(5000);
    socket
        .getOutputStream()
        .write(
            ("PUT /v1/instances/x/files/y HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                    + "only the start")
                .getBytes(StandardCharsets.US_ASCII));
    String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertTrue(answer.startsWith("HTTP/1.1 401 "), answer);
    assertTrue(
        answer.toLowerCase(java.util.Locale.ROOT).contains("\r\nconnection: close\r\n"),
        "the client is told not to send another request on it: " + answer);
  }

  /**
   * The server ends the connection (EOF or reset) within the deadline plus slack, and says nothing.
   */
  private static void assertClosedByServer(Socket socket, long since) throws IOException {
    long bound = since + HEADER_DEADLINE.toNanos() * 4;
    socket.setSoTimeout(
        (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(bound - System.nanoTime())));
    try (InputStream in = socket.getInputStream()) {
      while (in.read() >= 0) {
        // an error page before the close is fine; the close is what counts
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError(
          "a stalled connection was still open "
              + HEADER_DEADLINE.multipliedBy(4)
              + " after it was made",
          e);
    } catch (SocketException e) {
      // reset by the server: closed
    }
  }

  private static boolean serverClosed(Socket socket) throws IOException {
    socket.setSoTimeout(1);
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true;
    }
  }
}
