package dev.buildhost.tftp.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.Flood;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many servers per process, caps under load, and nothing leaked on close. */
class LifecycleTest {
  @TempDir Path root;

  private static long serverThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("tftp-"))
        .count();
  }

  private static void awaitNoServerThreads() {
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertEquals(
                    0, serverThreads(), "threads left: " + Thread.getAllStackTraces().keySet()));
  }

  @Test
  void manyServersStartAndCloseReleasingPortsAndThreads() throws Exception {
    Files.write(root.resolve("f"), new byte[3000]);
    List<TftpServer> servers = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      servers.add(TftpServer.builder(root).port(0).build().start());
    }
    for (TftpServer s : servers) {
      try (FaultyClient c = new FaultyClient(s.localAddress())) {
        assertEquals(3000, c.download("f", "octet", Map.of()).data().length);
      }
    }
    int port = servers.get(0).port();
    servers.forEach(TftpServer::close);
    awaitNoServerThreads();
    try (DatagramSocket again =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      assertEquals(port, again.getLocalPort(), "the port is free again");
    }
    try (TftpServer same = TftpServer.builder(root).port(port).build().start()) {
      assertEquals(port, same.port());
    }
    awaitNoServerThreads();
  }

  @Test
  void serversSharingOneRequestLoopHoldOneRequestThreadAndFreeTheirPortsOneByOne()
      throws Exception {
    Files.write(root.resolve("f"), new byte[3000]);
    List<TftpServer> servers = new ArrayList<>();
    try (RequestLoop loop = RequestLoop.start("tftp-shared-requests")) {
      for (int i = 0; i < 20; i++) {
        servers.add(TftpServer.builder(root).port(0).requestLoop(loop).build().start());
      }
      assertEquals(1, serverThreads(), "one request thread for 20 idle servers");
      for (TftpServer s : servers) {
        try (FaultyClient c = new FaultyClient(s.localAddress())) {
          assertEquals(3000, c.download("f", "octet", Map.of()).data().length);
        }
      }
      TftpServer first = servers.remove(0);
      int port = first.port();
      first.close();
      try (DatagramSocket again =
          new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertEquals(port, again.getLocalPort(), "a closed server's port is free at once");
      }
      try (FaultyClient c = new FaultyClient(servers.get(0).localAddress())) {
        assertEquals(
            3000, c.download("f", "octet", Map.of()).data().length, "the others still serve");
      }
      servers.forEach(TftpServer::close);
    }
    awaitNoServerThreads();
  }

  @Test
  void serversSharingOneRequestLoopShareTheirTransferBuffersAlsoAfterOneCloses() throws Exception {
    try (RequestLoop loop = RequestLoop.start("tftp-shared-requests")) {
      TftpServer first = TftpServer.builder(root).port(0).requestLoop(loop).build().start();
      TftpServer second = TftpServer.builder(root).port(0).requestLoop(loop).build().start();
      TransferBuffers buffers = first.takeBuffers();
      first.close(); // a transfer may end after its server closed
      first.returnBuffers(buffers);

      assertSame(buffers, second.takeBuffers(), "the other server's transfer reuses them");
      second.close();
    }
    try (TftpServer alone = TftpServer.builder(root).port(0).build().start()) {
      TransferBuffers own = alone.takeBuffers();
      alone.returnBuffers(own);
      assertSame(own, alone.takeBuffers(), "a server with its own loop pools its own");
    }
    awaitNoServerThreads();
  }

  @Test
  void aTakenPortFailsTheStart() throws Exception {
    try (TftpServer first = TftpServer.builder(root).port(0).build().start()) {
      IOException e =
          assertThrows(
              IOException.class, () -> TftpServer.builder(root).port(first.port()).build().start());
      assertTrue(e.getMessage().contains(Integer.toString(first.port())));
    }
    awaitNoServerThreads();
  }

  /**
   * Starts a download from {@code from} and acknowledges its first block only: the transfer then
   * stalls.
   */
  private static FaultyClient stalledAfterFirstAck(ServerFixture f, int from) throws IOException {
    FaultyClient c = new FaultyClient(f.address(), Flood.loopback(from));
    c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of()));
    FaultyClient.Packet first = c.receive(Duration.ofSeconds(2));
    assertNotNull(first);
    assertEquals(FaultyClient.DATA, first.opcode(), first.errorMessage());
    c.sendRaw(new byte[] {0, FaultyClient.ACK, 0, 1}, first.from());
    assertEquals(FaultyClient.DATA, c.receive(Duration.ofSeconds(2)).opcode());
    return c;
  }

  private static FaultyClient.Packet request(ServerFixture f, int from) throws IOException {
    try (FaultyClient c = new FaultyClient(f.address(), Flood.loopback(from))) {
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of()));
      FaultyClient.Packet p = c.receive(Duration.ofSeconds(2));
      assertNotNull(p);
      return p;
    }
  }

  @Test
  void concurrencyCapAnswersWithAnErrorAndRecovers() throws Exception {
    Files.write(root.resolve("f"), new byte[5000]);
    // stalled transfers live (timeout x (retries + 1)) long enough for the burst below
    try (ServerFixture f =
        new ServerFixture(
            root, b -> b.maxTransfers(4).timeout(Duration.ofSeconds(2)).maxRetries(1))) {
      List<FaultyClient> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) { // acknowledged transfers from four addresses take every slot
          stalled.add(stalledAfterFirstAck(f, 2 + i));
        }
        // a burst beyond the cap: every request is answered with an ERROR, none crashes anything
        for (int i = 0; i < 50; i++) {
          FaultyClient.Packet p = request(f, 1);
          assertEquals(FaultyClient.ERROR, p.opcode());
          assertEquals("too many concurrent transfers (4), try again later", p.errorMessage());
        }
      } finally {
        stalled.forEach(FaultyClient::close);
      }
      f.awaitIdle(); // the stalled transfers time out (bounded retries)
      try (FaultyClient c = f.client()) {
        assertArrayEquals(new byte[5000], c.download("f", "octet", Map.of()).data());
      }
    }
    awaitNoServerThreads();
  }

  @Test
  void oneClientAddressHoldsAtMostItsShareOfTheSlots() throws Exception {
    Files.write(root.resolve("f"), new byte[5000]);
    try (ServerFixture f =
        new ServerFixture(
            root, b -> b.maxTransfers(8).timeout(Duration.ofSeconds(2)).maxRetries(1))) {
      List<FaultyClient> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < 6; i++) { // the default share: three quarters of the slots
          stalled.add(stalledAfterFirstAck(f, 2));
        }
        FaultyClient.Packet refused = request(f, 2);
        assertEquals(FaultyClient.ERROR, refused.opcode());
        assertEquals(
            "too many concurrent transfers from 127.0.0.2 (6), try again later",
            refused.errorMessage());
        try (FaultyClient c = f.client()) {
          assertArrayEquals(
              new byte[5000],
              c.download("f", "octet", Map.of()).data(),
              "another address is served");
        }
      } finally {
        stalled.forEach(FaultyClient::close);
      }
      f.awaitIdle();
    }
    awaitNoServerThreads();
  }

  @Test
  void closeAbortsTransfersInFlightQuickly() throws Exception {
    Files.write(root.resolve("f"), new byte[100_000]);
    ServerFixture f = new ServerFixture(root, b -> b.timeout(Duration.ofSeconds(30)));
    List<FaultyClient> clients = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      FaultyClient c = f.client();
      clients.add(c);
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f", "octet", Map.of()));
      assertEquals(FaultyClient.DATA, c.receive(Duration.ofSeconds(2)).opcode());
    }
    assertEquals(10, f.server.activeTransfers());
    long start = System.nanoTime();
    f.close();
    assertTrue(
        Duration.ofNanos(System.nanoTime() - start).toSeconds() < 5,
        "close does not wait for timeouts");
    assertEquals(0, f.server.activeTransfers());
    assertEquals(10, f.events.stream().filter(e -> e.kind() == TransferEvent.Kind.FAILED).count());
    clients.forEach(FaultyClient::close);
    awaitNoServerThreads();
  }

  @Test
  void builderRejectsNonsense() {
    assertThrows(
        IllegalArgumentException.class, () -> TftpServer.builder(root).port(70000).build());
    assertThrows(
        IllegalArgumentException.class, () -> TftpServer.builder(root).maxTransfers(0).build());
    assertThrows(
        IllegalArgumentException.class, () -> TftpServer.builder(root).maxBlockSize(7).build());
    assertThrows(
        IllegalArgumentException.class, () -> TftpServer.builder(root).maxWindowSize(0).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TftpServer.builder(root).maxTransfers(8).maxTransfersPerClient(9).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TftpServer.builder(root).maxTransfersPerClient(-1).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TftpServer.builder(root).maxTimeoutSeconds(256).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TftpServer.builder(root).maxTimeoutSeconds(0).build());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            TftpServer.builder(root)
                .timeout(Duration.ofSeconds(2))
                .firstAckTimeout(Duration.ofSeconds(1))
                .build());
    assertThrows(
        IOException.class,
        () -> TftpServer.builder(root.resolve("missing")).port(0).build().start());
  }
}
