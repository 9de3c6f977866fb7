package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The transfer state machine, driven by a client that drops, duplicates and reorders packets. */
class TransferProtocolTest {
  @TempDir Path root;
  ServerFixture fixture;

  @BeforeEach
  void start() throws IOException {
    fixture = new ServerFixture(root, b -> b.writable(true));
  }

  @AfterEach
  void stop() {
    fixture.close();
  }

  private byte[] file(String name, int size) throws IOException {
    byte[] content = new byte[size];
    new Random(size).nextBytes(content);
    Files.write(root.resolve(name), content);
    return content;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 511, 512, 513, 1024, 5000})
  void lockStepDownloadWithoutOptions(int size) throws Exception {
    byte[] content = file("f", size);
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.download("f", "octet", Map.of());
      assertTrue(r.ok());
      assertArrayEquals(content, r.data());
      assertEquals(
          size / 512 + 1, r.dataPackets(), "a file of k*512 bytes ends with an empty block");
    }
    assertEquals(size, fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "f").bytes());
  }

  @Test
  void optionsAreAcknowledgedAndUsed() throws Exception {
    byte[] content = file("f", 100_000);
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r =
          c.download(
              "f",
              "octet",
              Map.of(
                  "blksize",
                  "1468",
                  "tsize",
                  "0",
                  "windowsize",
                  "8",
                  "timeout",
                  "2",
                  "x-unknown",
                  "1"));
      assertTrue(r.ok());
      assertEquals(
          Map.of("blksize", "1468", "tsize", "100000", "windowsize", "8", "timeout", "2"),
          r.oack());
      assertArrayEquals(content, r.data());
      assertEquals(100_000 / 1468 + 1, r.dataPackets());
    }
  }

  @Test
  void duplicateAcksDoNotTriggerRetransmission() throws Exception {
    byte[] content = file("f", 512 * 20 + 7);
    fixture.close();
    fixture = new ServerFixture(root, b -> b.timeout(Duration.ofSeconds(5)));
    try (FaultyClient c = fixture.client()) {
      c.duplicateOutgoing.add("ACK:*");
      FaultyClient.Result r = c.download("f", "octet", Map.of());
      assertArrayEquals(content, r.data());
      // every ACK arrived twice; a Sorcerer's Apprentice server would have sent each block twice
      assertEquals(21, r.dataPackets());
      assertEquals(
          0, c.receive(Duration.ofMillis(300)) == null ? 0 : 1, "no stray packets after the end");
    }
  }

  @Test
  void lostDataInsideAWindowResumesAfterTheLastAckedBlock() throws Exception {
    byte[] content = file("f", 512 * 40);
    fixture.close();
    fixture = new ServerFixture(root, b -> b.timeout(Duration.ofSeconds(5)));
    try (FaultyClient c = fixture.client()) {
      c.dropIncoming.add("DATA:5");
      c.dropIncoming.add("DATA:23");
      long start = System.nanoTime();
      FaultyClient.Result r = c.download("f", "octet", Map.of("windowsize", "8"));
      assertArrayEquals(content, r.data());
      // recovery came from the client's ACK of block 4, not from the server's 5 s timeout
      assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 4000);
      long resent5 =
          c.received.stream()
              .filter(p -> p.opcode() == FaultyClient.DATA && p.block() == 5)
              .count();
      assertEquals(2, resent5, "block 5 was sent again once");
    }
  }

  @Test
  void lostAckIsRecoveredByTimeout() throws Exception {
    byte[] content = file("f", 512 * 5);
    try (FaultyClient c = fixture.client().timeout(Duration.ofSeconds(2))) {
      c.dropOutgoing.add("ACK:3");
      FaultyClient.Result r = c.download("f", "octet", Map.of());
      assertArrayEquals(content, r.data());
      assertEquals(7, r.dataPackets(), "block 4 re-sent once after the server's timeout");
    }
  }

  @Test
  void packetFromUnknownPortGetsError5AndTransferGoesOn() throws Exception {
    byte[] content = file("f", 512 * 10);
    AtomicReference<FaultyClient.Packet> answer = new AtomicReference<>();
    try (FaultyClient c = fixture.client();
        DatagramSocket rogue = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      c.onData =
          block -> {
            if (block == 3) {
              try {
                byte[] ack = {0, 4, 0, 3};
                rogue.send(new DatagramPacket(ack, 4, c.tid));
                rogue.setSoTimeout(2000);
                byte[] buf = new byte[600];
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                rogue.receive(p);
                answer.set(
                    new FaultyClient.Packet(
                        buf[1],
                        buf[3],
                        java.util.Arrays.copyOf(buf, p.getLength()),
                        (InetSocketAddress) p.getSocketAddress()));
              } catch (IOException e) {
                throw new AssertionError(e);
              }
            }
          };
      FaultyClient.Result r = c.download("f", "octet", Map.of());
      assertArrayEquals(content, r.data());
      assertEquals(11, r.dataPackets());
    }
    assertNotNull(answer.get());
    assertEquals(FaultyClient.ERROR, answer.get().opcode());
    assertEquals(5, answer.get().errorCode());
  }

  @Test
  void aRequestRepeatedFromTheSamePortStartsNoSecondTransfer() throws Exception {
    byte[] content = file("f", 100);
    try (FaultyClient c = fixture.client()) {
      byte[] rrq = FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of());
      c.sendRaw(rrq);
      c.sendRaw(rrq); // as busybox tftp does when the answer takes more than 100 ms
      FaultyClient.Packet data = c.receive(Duration.ofSeconds(2));
      assertEquals(FaultyClient.DATA, data.opcode());
      assertArrayEquals(content, Arrays.copyOfRange(data.bytes(), 4, data.bytes().length));
      c.sendRaw(new byte[] {0, 4, 0, 1}, data.from());
      assertEquals(100, fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "f").bytes());
      FaultyClient.Packet more = c.receive(Duration.ofMillis(500));
      assertNull(more, "a second transfer would send its DATA from another port");
    }
    fixture.awaitIdle();
    assertEquals(
        1,
        fixture.events.stream().filter(e -> e.kind() == TransferEvent.Kind.REQUESTED).count(),
        fixture.events::toString);
  }

  @Test
  void missingFinalAckEndsAfterBoundedRetries() throws Exception {
    file("f", 700);
    try (FaultyClient c = fixture.client()) {
      c.withholdFinalAck = true;
      FaultyClient.Result r = c.download("f", "octet", Map.of());
      assertEquals(700, r.data().length);
      TransferEvent failed = fixture.awaitEvent(TransferEvent.Kind.FAILED, "f");
      assertTrue(failed.reason().contains("final block"), failed.reason());
      while (c.receive(Duration.ofMillis(100)) != null) {
        // collect the re-sent final blocks
      }
      long finalBlocks =
          c.received.stream()
              .filter(p -> p.opcode() == FaultyClient.DATA && p.block() == 2)
              .count();
      assertEquals(
          1 + 3,
          finalBlocks,
          "the final block is re-sent maxRetries times, then the server gives up");
    }
    fixture.awaitIdle();
  }

  @Test
  void vanishingDownloaderFreesTheTransfer() throws Exception {
    file("f", 5000);
    try (FaultyClient c = fixture.client()) {
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of()));
      assertEquals(FaultyClient.DATA, c.receive(Duration.ofSeconds(2)).opcode());
    }
    TransferEvent failed = fixture.awaitEvent(TransferEvent.Kind.FAILED, "f");
    assertTrue(failed.reason().contains("not acknowledged within"), failed.reason());
    fixture.awaitIdle();
  }

  @Test
  void downloaderVanishingAfterItsFirstAckFreesTheTransfer() throws Exception {
    file("f", 5000);
    try (FaultyClient c = fixture.client()) {
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of()));
      FaultyClient.Packet first = c.receive(Duration.ofSeconds(2));
      assertEquals(FaultyClient.DATA, first.opcode());
      c.sendRaw(new byte[] {0, FaultyClient.ACK, 0, 1}, first.from());
      assertEquals(2, c.receive(Duration.ofSeconds(2)).block());
    }
    TransferEvent failed = fixture.awaitEvent(TransferEvent.Kind.FAILED, "f");
    assertTrue(
        failed.reason().contains("timed out waiting for the ACK of block 2"), failed.reason());
    fixture.awaitIdle();
  }

  @Test
  void blockNumbersRollOverPast65535() throws Exception {
    int size = 8 * 70_000 + 3; // 70001 blocks of 8 bytes
    byte[] content = file("big", size);
    try (FaultyClient c = fixture.client().timeout(Duration.ofSeconds(2))) {
      FaultyClient.Result r =
          c.download("big", "octet", Map.of("blksize", "8", "windowsize", "64"));
      assertTrue(r.ok());
      assertArrayEquals(content, r.data());
    }
    try (FaultyClient c = fixture.client().timeout(Duration.ofSeconds(2))) {
      FaultyClient.Result r =
          c.upload("up", "octet", Map.of("blksize", "8", "windowsize", "64"), content);
      assertTrue(r.ok(), () -> r.error().errorMessage());
    }
    fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "up");
    assertArrayEquals(content, Files.readAllBytes(root.resolve("up")));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 100, 512, 1536, 4000})
  void lockStepUpload(int size) throws Exception {
    byte[] content = new byte[size];
    new Random(size).nextBytes(content);
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.upload("u", "octet", Map.of(), content);
      assertTrue(r.ok());
    }
    assertEquals(size, fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "u").bytes());
    assertArrayEquals(content, Files.readAllBytes(root.resolve("u")));
    try (var list = Files.list(root)) {
      assertEquals(1, list.count(), "no temporary file left");
    }
  }

  @Test
  void duplicateAndReorderedDataOnUpload() throws Exception {
    byte[] content = new byte[512 * 30 + 10];
    new Random(1).nextBytes(content);
    // The client's re-send of the dropped block must come before the server gives up: with the
    // fixture's 3 x 200 ms a loaded machine could delay it past that.
    fixture.close();
    fixture = new ServerFixture(root, b -> b.writable(true).timeout(Duration.ofSeconds(2)));
    try (FaultyClient c = fixture.client()) {
      c.duplicateOutgoing.add("DATA:2");
      c.duplicateOutgoing.add("DATA:17");
      FaultyClient.Result r = c.upload("lock", "octet", Map.of(), content);
      assertTrue(r.ok());
    }
    fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "lock");
    assertArrayEquals(content, Files.readAllBytes(root.resolve("lock")));
    try (FaultyClient c = fixture.client()) {
      c.delayOutgoing.add("DATA:3");
      c.duplicateOutgoing.add("DATA:9");
      c.dropOutgoing.add("DATA:20");
      FaultyClient.Result r = c.upload("win", "octet", Map.of("windowsize", "8"), content);
      assertTrue(r.ok());
    }
    fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "win");
    assertArrayEquals(content, Files.readAllBytes(root.resolve("win")));
  }

  @Test
  void lostFinalAckOfAnUploadIsAnsweredAgain() throws Exception {
    byte[] content = new byte[600];
    try (FaultyClient c = fixture.client().timeout(Duration.ofMillis(150))) {
      c.dropIncoming.add("ACK:2");
      FaultyClient.Result r = c.upload("u", "octet", Map.of(), content);
      assertTrue(r.ok(), "the server dallies and re-acknowledges the re-sent final block");
    }
    assertArrayEquals(content, Files.readAllBytes(root.resolve("u")));
  }

  @Test
  void netasciiBothWays() throws Exception {
    Files.writeString(root.resolve("t.txt"), "one\ntwo\rthree\n");
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.download("t.txt", "netascii", Map.of("blksize", "8"));
      assertEquals("one\r\ntwo\r\0three\r\n", new String(r.data(), StandardCharsets.US_ASCII));
    }
    try (FaultyClient c = fixture.client()) {
      byte[] wire = "a\r\nb\r\0c\r\n".getBytes(StandardCharsets.US_ASCII);
      assertTrue(c.upload("u.txt", "NetAscii", Map.of("blksize", "8"), wire).ok());
    }
    fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "u.txt");
    assertEquals("a\nb\rc\n", Files.readString(root.resolve("u.txt")));
  }
}
