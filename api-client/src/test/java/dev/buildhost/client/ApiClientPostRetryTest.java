package dev.buildhost.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildhost.client.wire.StartBody;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A POST is sent once, whatever happens to its connection: the JDK's HttpURLConnection would send
 * it again, on a new connection, when the one it reused closes before any answer.
 */
class ApiClientPostRetryTest {

  @Test
  void aStartWhoseKeptAliveConnectionClosesUnansweredIsAnErrorAndSentOnce() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<String> requests = new ArrayList<>();
      Thread server = new Thread(() -> answerAllButPosts(listener, requests), "test-http-server");
      server.setDaemon(true);
      server.start();
      ApiClient client =
          new ApiClient(
              URI.create("http://127.0.0.1:" + listener.getLocalPort()),
              "t",
              Duration.ofSeconds(10),
              Duration.ofSeconds(10));

      StartBody start = new StartBody("vm", null, Map.of());
      ApiJson.MAPPER.writeValueAsBytes(start); // Jackson ready: no pause between the two requests

      client.delete("vm-1"); // answered, and the connection kept alive for the next request
      ApiClientException e = assertThrows(ApiClientException.class, () -> client.start(start));

      assertEquals(ApiClientException.UNREACHABLE, e.status(), e::getMessage);
      synchronized (requests) {
        assertEquals(
            List.of("1 DELETE /v1/instances/vm-1", "1 POST /v1/instances"),
            requests,
            "requests by connection");
      }
    }
  }

  /**
   * Answers every request but a POST on its connection, kept alive; closes the connection on a POST
   * without answering. Records each request with the number of its connection.
   */
  private static void answerAllButPosts(ServerSocket listener, List<String> requests) {
    int connections = 0;
    while (true) {
      try (Socket socket = listener.accept()) {
        connections++;
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        String request;
        while ((request = readRequest(in)) != null) {
          synchronized (requests) {
            requests.add(connections + " " + request);
          }
          if (request.startsWith("POST ")) {
            break;
          }
          out.write(
              ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                      + "Keep-Alive: timeout=60\r\n\r\n{}")
                  .getBytes(StandardCharsets.US_ASCII));
          out.flush();
        }
      } catch (SocketException closed) {
        return; // the test is over
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** The method and path of the next request, its headers and body read; null at the end. */
  private static String readRequest(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
    }
    String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
    long length = 0;
    for (String line : lines) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Long.parseLong(line.substring("content-length:".length()).trim());
      }
    }
    in.readNBytes((int) length);
    String[] requestLine = lines[0].split(" ");
    return requestLine[0] + " " + requestLine[1];
  }
}
