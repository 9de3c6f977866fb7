package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
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
  @TempDir
  Path root;
  final byte[] content = new byte[20_000];

  @BeforeEach
  void files() throws IOException {
    new Random(1).nextBytes(content);
    Files.write(root.resolve("file"), content);
  }

  static InetAddress loopback(int last) {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Sends requests with timeout=255 from each address in turn and never acknowledges (nor reads)
   * anything, until closed; bounded to 60 s in any case.
   */
  static final class Flood implements AutoCloseable {
    private final List<DatagramChannel> senders = new ArrayList<>();
    private final Thread thread;
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean stop;

    Flood(InetSocketAddress server, boolean withUploads, InetAddress... from) throws IOException {
      for (InetAddress address : from) {
        DatagramChannel channel = DatagramChannel.open();
        channel.bind(new InetSocketAddress(address, 0));
        senders.add(channel);
      }
      byte[] read = FaultyClient.request(FaultyClient.RRQ, "file", "octet", Map.of("timeout", "255"));
      byte[] write = FaultyClient.request(FaultyClient.WRQ, "flood-upload", "octet", Map.of("timeout", "255"));
      thread = new Thread(() -> {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try {
          for (long round = 0; !stop && System.nanoTime() < end; round++) {
            for (DatagramChannel channel : senders) {
              byte[] request = withUploads && round % 2 == 1 ? write : read;
              channel.send(ByteBuffer.wrap(request), server);
              sent.incrementAndGet();
            }
            Thread.sleep(2); // a few hundred requests a second per address: far more than the slots
          }
        } catch (IOException | InterruptedException e) {
          // the test ends the flood
        }
      }, "flood");
      thread.setDaemon(true);
      thread.start();
    }

    /** Waits (bounded) until this many requests went out. */
    Flood awaitSent(long count) throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (sent.get() < count && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(sent.get() >= count, "the flood sent " + sent.get());
      return this;
    }

    @Override
    public void close() throws Exception {
      stop = true;
      thread.join(5_000);
      for (DatagramChannel channel : senders) {
        channel.close();
      }
    }
  }

  private void realClientIsServed(ServerFixture f, boolean writable) throws Exception {
    for (int i = 0; i < 3; i++) {
      try (FaultyClient c = f.client()) {
        FaultyClient.Result r = c.download("file", "octet", i == 0 ? Map.of() : Map.of("blksize", "1024"));
        assertTrue(r.ok(), () -> "the real client was refused: " + r.error().errorMessage());
        assertArrayEquals(content, r.data());
      }
    }
    if (writable) {
      try (FaultyClient c = f.client()) {
        FaultyClient.Result r = c.upload("result", "octet", Map.of(), content);
        assertTrue(r.ok(), () -> "the real client's upload was refused: " + r.error().errorMessage());
      }
      assertArrayEquals(content, Files.readAllBytes(root.resolve("result")));
    }
  }

  private void afterTheFlood(ServerFixture f) throws Exception {
    f.awaitIdle(); // the flood's transfers end at the first-ACK deadline
    try (Stream<Path> files = Files.walk(root)) {
      assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tftp-part")), "no temporary files left");
    }
    assertFalse(Files.exists(root.resolve("flood-upload")));
  }

  @ParameterizedTest(name = "writable={0}")
  @ValueSource(booleans = {false, true})
  void aRealClientIsServedWhileOneAddressFloods(boolean writable) throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(writable))) {
      try (Flood flood = new Flood(f.address(), writable, loopback(2)).awaitSent(300)) {
        realClientIsServed(f, writable);
      }
      afterTheFlood(f);
    }
  }

  @ParameterizedTest(name = "writable={0}")
  @ValueSource(booleans = {false, true})
  void aRealClientIsServedWhileEightAddressesFlood(boolean writable) throws Exception {
    InetAddress[] from = new InetAddress[8];
    for (int i = 0; i < from.length; i++) {
      from[i] = loopback(2 + i);
    }
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(writable))) {
      try (Flood flood = new Flood(f.address(), writable, from).awaitSent(1000)) {
        realClientIsServed(f, writable);
      }
      afterTheFlood(f);
    }
  }

  @Test
  void aTransferNeverAcknowledgedEndsAtTheFirstAckDeadlineWhateverTimeoutItNegotiated() throws Exception {
    // the fixture's timeout is 200 ms, so the first-ACK deadline is 400 ms; the client asks for 10 s
    try (ServerFixture f = new ServerFixture(root, b -> { }); FaultyClient c = f.client()) {
      c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "file", "octet", Map.of("timeout", "10")));
      FaultyClient.Packet oack = c.receive(Duration.ofSeconds(2));
      assertNotNull(oack);
      assertEquals(FaultyClient.OACK, oack.opcode());
      assertEquals(Map.of("timeout", "10"), oack.options());
      FaultyClient.Packet again = c.receive(Duration.ofSeconds(2));
      assertNotNull(again, "before the first ACK the server re-sends at its own timeout, not the negotiated 10 s");
      assertEquals(FaultyClient.OACK, again.opcode());
      TransferEvent failed = f.awaitEvent(TransferEvent.Kind.FAILED, "file");
      assertTrue(failed.reason().contains("not acknowledged within 400 ms"), failed.reason());
      f.awaitIdle();
    }
  }
}
