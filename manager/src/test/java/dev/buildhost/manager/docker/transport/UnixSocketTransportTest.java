package dev.buildhost.manager.docker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.transport.DockerHttpClient.Request;
import com.github.dockerjava.transport.DockerHttpClient.Response;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport's connections, against an engine played by a unix socket of the test's own: what it
 * sends, how an answer's body ends, and that closing ends a read blocked in another thread.
 */
class UnixSocketTransportTest {

  @TempDir Path dir;
  private ServerSocketChannel engine;
  private UnixSocketTransport transport;

  @BeforeEach
  void listen() throws IOException {
    engine = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    engine.bind(UnixDomainSocketAddress.of(dir.resolve("engine.sock")));
    transport = new UnixSocketTransport(dir.resolve("engine.sock"));
  }

  @AfterEach
  void close() throws IOException {
    transport.close();
    engine.close();
  }

  private static Request get(String path) {
    return Request.builder().method(Request.Method.GET).path(path).build();
  }

  /** Accepts one connection, reads the request's head, answers {@code answer}, keeps it open. */
  private CompletableFuture<SocketChannel> answer(String answer) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            SocketChannel connection = engine.accept();
            readHead(connection);
            connection.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.ISO_8859_1)));
            return connection;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  private static String readHead(SocketChannel connection) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      one.clear();
      if (connection.read(one) < 0) {
        break;
      }
      head.write(one.get(0));
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aBodyWithALengthEndsThereThoughTheConnectionStaysOpen() throws Exception {
    CompletableFuture<SocketChannel> connection =
        answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.43\r\n\r\nOK");

    try (Response response = transport.execute(get("/_ping"))) {
      assertEquals(200, response.getStatusCode());
      assertEquals("1.43", response.getHeader("api-version"));
      assertEquals("OK", new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
    }
    connection.get(5, TimeUnit.SECONDS).close();
  }

  @Test
  void aBodyWithoutLengthOrChunksLastsUntilTheEngineCloses() throws Exception {
    CompletableFuture<SocketChannel> connection =
        answer("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nout");

    try (Response response = transport.execute(get("/containers/a/attach"))) {
      InputStream body = response.getBody();
      assertEquals("out", new String(body.readNBytes(3), StandardCharsets.UTF_8));
      connection.get(5, TimeUnit.SECONDS).close();
      assertEquals(-1, body.read());
    }
  }

  @Test
  void closingAResponseEndsAReadBlockedOnItInAnotherThread() throws Exception {
    CompletableFuture<SocketChannel> connection =
        answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    Response events = transport.execute(get("/events"));
    CompletableFuture<Throwable> reader =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                events.getBody().read();
                return null;
              } catch (IOException e) {
                return e;
              }
            });

    Thread.sleep(100); // lets the reader block (if it has not, it fails at once all the same)
    events.close();

    assertInstanceOf(IOException.class, reader.get(5, TimeUnit.SECONDS));
    connection.get(5, TimeUnit.SECONDS).close();
  }

  @Test
  void closingTheTransportEndsTheStreamsStillOpenAndRefusesNewRequests() throws Exception {
    CompletableFuture<SocketChannel> connection =
        answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    Response events = transport.execute(get("/events"));

    transport.close();
    connection.get(5, TimeUnit.SECONDS).close();

    assertThrows(IOException.class, () -> events.getBody().read());
    UncheckedIOException refused =
        assertThrows(UncheckedIOException.class, () -> transport.execute(get("/_ping")));
    assertTrue(refused.getMessage().contains("is closed"), refused.getMessage());
  }

  @Test
  void aHijackedConnectionCarriesStdinAndTheRawOutput() throws Exception {
    CompletableFuture<SocketChannel> connection =
        answer("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    Request attach =
        Request.builder()
            .method(Request.Method.POST)
            .path("/containers/a/attach?stdin=1")
            .hijackedInput(
                new java.io.ByteArrayInputStream("hello\n".getBytes(StandardCharsets.UTF_8)))
            .build();

    try (Response response = transport.execute(attach)) {
      assertEquals(200, response.getStatusCode(), "docker-java takes only 2xx");
      SocketChannel server = connection.get(5, TimeUnit.SECONDS);
      ByteBuffer stdin = ByteBuffer.allocate(6);
      while (stdin.hasRemaining() && server.read(stdin) >= 0) {
        // until the line is in
      }
      assertEquals(
          "hello\n", new String(stdin.array(), 0, stdin.position(), StandardCharsets.UTF_8));
      server.write(ByteBuffer.wrap("HELLO\n".getBytes(StandardCharsets.UTF_8)));
      server.close();
      assertEquals(
          "HELLO\n", new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void anEngineThatIsNotThereIsAConnectionFailureThatNamesTheSocket() throws IOException {
    engine.close();

    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> transport.execute(get("/_ping")));

    assertTrue(
        e.getMessage().startsWith("GET /_ping to the engine at " + dir.resolve("engine.sock")),
        e.getMessage());
    assertTrue(
        e.getCause() instanceof ConnectException || e.getCause() instanceof SocketException,
        e.toString());
  }

  @Test
  void anEngineThatClosesBeforeAnsweringIsAnErrorNotAnEmptyAnswer() throws Exception {
    CompletableFuture<Void> engineSide =
        CompletableFuture.runAsync(
            () -> {
              try (SocketChannel connection = engine.accept()) {
                readHead(connection);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });

    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> transport.execute(get("/_ping")));

    assertTrue(
        e.getMessage().endsWith("the engine closed the connection before it answered"),
        e.getMessage());
    engineSide.get(5, TimeUnit.SECONDS);
  }
}
