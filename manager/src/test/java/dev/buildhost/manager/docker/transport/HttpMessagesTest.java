package dev.buildhost.manager.docker.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.transport.DockerHttpClient.Request;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTTP/1.1 the transport writes and reads, on bytes alone (no socket). */
class HttpMessagesTest {

  private static InputStream bytes(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static String encoded(Request request, boolean hijack) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RequestEncoder.write(request, hijack, out);
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aHeadIsReadUpToItsEmptyLineWithFieldsLookedUpRegardlessOfCase() throws IOException {
    InputStream in =
        bytes(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nApi-Version: 1.43\r\nX-A: 1\r\nx-a: 2\n\r\nbody");

    ResponseHead head = ResponseHead.read(in);

    assertEquals(200, head.status());
    assertEquals("text/plain", head.header("content-type"));
    assertEquals(List.of("1", "2"), head.headers().get("X-A"));
    assertNull(head.header("Content-Length"));
    assertEquals("body", new String(in.readAllBytes(), StandardCharsets.ISO_8859_1));
  }

  @Test
  void aMalformedStatusLineIsRefusedAndShown() {
    IOException e =
        assertThrows(IOException.class, () -> ResponseHead.read(bytes("SSH-2.0-OpenSSH\r\n\r\n")));
    assertEquals(
        "malformed status line in the engine's answer: \"SSH-2.0-OpenSSH\"", e.getMessage());
  }

  @Test
  void aFieldWithoutAColonIsRefused() {
    IOException e =
        assertThrows(
            IOException.class,
            () -> ResponseHead.read(bytes("HTTP/1.1 200 OK\r\nno colon\r\n\r\n")));
    assertEquals("malformed header field in the engine's answer: \"no colon\"", e.getMessage());
  }

  @Test
  void anEndlessHeadIsCutAtItsLimitInsteadOfFillingTheHeap() {
    InputStream endless =
        new InputStream() {
          @Override
          public int read() {
            return 'a';
          }
        };
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                ResponseHead.read(
                    new java.io.SequenceInputStream(bytes("HTTP/1.1 200 OK\r\nX: "), endless)));
    assertEquals(
        "the engine's answer has a head longer than " + ResponseHead.MAX_BYTES + " bytes",
        e.getMessage());
  }

  @Test
  void anAnswerThatEndsEarlySaysWhere() {
    assertEquals(
        "the engine closed the connection before it answered",
        assertThrows(EOFException.class, () -> ResponseHead.read(bytes(""))).getMessage());
    assertEquals(
        "the engine's answer ended inside its header fields",
        assertThrows(
                EOFException.class, () -> ResponseHead.read(bytes("HTTP/1.1 200 OK\r\nA: b\r\n")))
            .getMessage());
  }

  @Test
  void chunksAreJoinedExtensionsAndTrailerSkippedAndWhatFollowsLeftUnread() throws IOException {
    InputStream in = bytes("5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT");

    assertEquals(
        "hello, world",
        new String(new ChunkedInputStream(in).readAllBytes(), StandardCharsets.UTF_8));
    assertEquals("NEXT", new String(in.readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void aChunkSizeThatIsNotHexadecimalOrOverflowsIsRefused() {
    for (String size : List.of("zz", "", "+5", "-1", "10000000000000000", "ffffffffffffffff")) {
      IOException e =
          assertThrows(
              IOException.class,
              () -> new ChunkedInputStream(bytes(size + "\r\nabc\r\n0\r\n\r\n")).readAllBytes(),
              size);
      assertEquals("malformed chunk size in the engine's answer: \"" + size + "\"", e.getMessage());
    }
  }

  @Test
  void aChunkLongerThanItsSizeOrCutShortIsAnError() {
    assertEquals(
        "a chunk of the engine's answer is longer than its size says",
        assertThrows(
                IOException.class,
                () -> new ChunkedInputStream(bytes("2\r\nabc\r\n0\r\n\r\n")).readAllBytes())
            .getMessage());
    assertEquals(
        "the engine's answer ended inside a chunk",
        assertThrows(
                EOFException.class, () -> new ChunkedInputStream(bytes("9\r\nabc")).readAllBytes())
            .getMessage());
    assertEquals(
        "the engine's answer ended before its last chunk",
        assertThrows(
                EOFException.class,
                () -> new ChunkedInputStream(bytes("3\r\nabc\r\n")).readAllBytes())
            .getMessage());
  }

  @Test
  void aFixedLengthBodyEndsAtItsLengthAndAShortOneSaysHowMuchWasMissing() throws IOException {
    InputStream in = bytes("abcdefNEXT");
    assertArrayEquals(
        "abcdef".getBytes(StandardCharsets.UTF_8),
        new FixedLengthInputStream(in, 6).readAllBytes());
    assertEquals(
        "the engine's answer ended 3 bytes before the length it announced",
        assertThrows(
                EOFException.class,
                () -> new FixedLengthInputStream(bytes("abc"), 6).readAllBytes())
            .getMessage());
  }

  @Test
  void aRequestWithBytesCarriesItsLengthAndClosesTheConnectionAfterwards() throws IOException {
    Request request =
        Request.builder()
            .method(Request.Method.POST)
            .path("/v1.43/containers/create?name=a%20b")
            .putHeader("content-type", "application/json")
            .bodyBytes("{}".getBytes(StandardCharsets.UTF_8))
            .build();

    assertEquals(
        "POST /v1.43/containers/create?name=a%20b HTTP/1.1\r\nHost: docker\r\n"
            + "content-type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        encoded(request, false));
  }

  @Test
  void aStreamedBodyIsSentInChunksAndAHijackAsksForTheRawStream() throws IOException {
    Request request =
        Request.builder()
            .method(Request.Method.POST)
            .path("/images/load")
            .body(bytes("tar bytes"))
            .hijackedInput(bytes("stdin"))
            .build();

    assertEquals(
        String.join(
            "\r\n",
            "POST /images/load HTTP/1.1",
            "Host: docker",
            "Connection: Upgrade",
            "Upgrade: tcp",
            "Transfer-Encoding: chunked",
            "",
            "9",
            "tar bytes",
            "0",
            "",
            ""),
        encoded(request, true));
  }

  @Test
  void framingFieldsOfTheCallerAreLeftOutAndAGetHasNoLength() throws IOException {
    Request request =
        Request.builder()
            .method(Request.Method.GET)
            .path("/_ping")
            .putHeader("Content-Length", "99")
            .putHeader("Connection", "keep-alive")
            .build();

    assertEquals(
        "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
        encoded(request, false));
  }

  @Test
  void aPathOrFieldThatWouldSplitTheRequestIsRefusedBeforeAnythingIsWritten() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Request badPath =
        Request.builder().method(Request.Method.GET).path("/a HTTP/1.1\r\nX-Evil: 1").build();
    Request badField =
        Request.builder()
            .method(Request.Method.GET)
            .path("/_ping")
            .putHeader("X-Registry-Auth", "token\r\nX-Evil: 1")
            .build();

    IllegalArgumentException path =
        assertThrows(
            IllegalArgumentException.class, () -> RequestEncoder.write(badPath, false, out));
    IllegalArgumentException field =
        assertThrows(
            IllegalArgumentException.class, () -> RequestEncoder.write(badField, false, out));

    assertTrue(path.getMessage().startsWith("not a request path"), path.getMessage());
    assertEquals(
        "header field \"X-Registry-Auth\" cannot be sent: it holds a line end or control character",
        field.getMessage());
    assertEquals(0, out.size());
  }
}
