package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.Flood;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests that are never acknowledged (one datagram each, from anyone who reaches the port) must
 * not starve real clients: a real client on 127.0.0.1 is served while such a flood runs, from one
 * address or spread over several, against the read-only and a writable server.
 */
class FloodTest {
  @TempDir Path root;
  final byte[] content = new byte[20_000];

  @BeforeEach
  void files() throws IOException {
    new Random(1).nextBytes(content);
    Files.write(root.resolve("file"), content);
  }

  private void realClientIsServed(ServerFixture f, boolean writable) throws Exception {
    for (int i = 0; i < 3; i++) {
      try (FaultyClient c = f.client()) {
        FaultyClient.Result r =
            c.download("file", "octet", i == 0 ? Map.of() : Map.of("blksize", "1024"));
        assertTrue(r.ok(), () -> "the real client was refused: " + r.error().errorMessage());
        assertArrayEquals(content, r.data());
      }
    }
    if (writable) {
      try (FaultyClient c = f.client()) {
        FaultyClient.Result r = c.upload("result", "octet", Map.of(), content);
        assertTrue(
            r.ok(), () -> "the real client's upload was refused: " + r.error().errorMessage());
      }
      assertArrayEquals(content, Files.readAllBytes(root.resolve("result")));
    }
  }

  private void afterTheFlood(ServerFixture f) throws Exception {
    f.awaitIdle(); // the flood's transfers end at the first-ACK deadline
    try (Stream<Path> files = Files.walk(root)) {
      assertFalse(
          files.anyMatch(p -> p.getFileName().toString().endsWith(".tftp-part")),
          "no temporary files left");
    }
    assertFalse(Files.exists(root.resolve("flood-upload")));
  }

  @ParameterizedTest(name = "writable={0}")
  @ValueSource(booleans = {false, true})
  // "try": the flood runs for the body's length; the body never needs to name it.
  @SuppressWarnings("try")
  void aRealClientIsServedWhileOneAddressFloods(boolean writable) throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(writable))) {
      try (Flood flood =
          new Flood(f.address(), "file", writable, Flood.loopback(2)).awaitSent(300)) {
        realClientIsServed(f, writable);
      }
      afterTheFlood(f);
    }
  }

  @ParameterizedTest(name = "writable={0}")
  @ValueSource(booleans = {false, true})
  // "try": the flood runs for the body's length; the body never needs to name it.
  @SuppressWarnings("try")
  void aRealClientIsServedWhileEightAddressesFlood(boolean writable) throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(writable))) {
      try (Flood flood =
          new Flood(f.address(), "file", writable, Flood.loopbacks(2, 8)).awaitSent(1000)) {
        realClientIsServed(f, writable);
      }
      afterTheFlood(f);
    }
  }

  @Test
  void aTransferNeverAcknowledgedEndsAtTheFirstAckDeadlineWhateverTimeoutItNegotiated()
      throws Exception {
    // the fixture's timeout is 200 ms, so the first-ACK deadline is 400 ms; the client asks for 10
    // s
    try (ServerFixture f = new ServerFixture(root, b -> {});
        FaultyClient c = f.client()) {
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "file", "octet", Map.of("timeout", "10")));
      FaultyClient.Packet oack = c.receive(Duration.ofSeconds(2));
      assertNotNull(oack);
      assertEquals(FaultyClient.OACK, oack.opcode());
      assertEquals(Map.of("timeout", "10"), oack.options());
      FaultyClient.Packet again = c.receive(Duration.ofSeconds(2));
      assertNotNull(
          again,
          "before the first ACK the server re-sends at its own timeout, not the negotiated 10 s");
      assertEquals(FaultyClient.OACK, again.opcode());
      TransferEvent failed = f.awaitEvent(TransferEvent.Kind.FAILED, "file");
      assertTrue(failed.reason().contains("not acknowledged within 400 ms"), failed.reason());
      f.awaitIdle();
    }
  }
}
