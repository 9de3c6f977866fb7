package dev.buildhost.tftp.testing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.common.threads.Threads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A flood of requests that are never acknowledged: RRQs (and, if asked, WRQs) with timeout=255,
 * from each of the given loopback addresses in turn, a few hundred a second per address (far more
 * than a server has slots), never reading an answer. Runs until closed, 60 s at most.
 */
public final class Flood implements AutoCloseable {
  private final List<DatagramChannel> senders = new ArrayList<>();
  private final Thread thread;
  private final AtomicLong sent = new AtomicLong();
  private volatile boolean stop;

  /**
   * 127.0.0.{last}: all of 127.0.0.0/8 is loopback on Linux, so tests can send from many addresses.
   */
  public static InetAddress loopback(int last) {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /** 127.0.0.{first} and the {@code count - 1} addresses after it. */
  public static InetAddress[] loopbacks(int first, int count) {
    InetAddress[] addresses = new InetAddress[count];
    for (int i = 0; i < count; i++) {
      addresses[i] = loopback(first + i);
    }
    return addresses;
  }

  /**
   * @param file the name the requests ask for
   * @param withUploads every other round sends WRQs of {@code "flood-upload"} instead of RRQs
   */
  public Flood(InetSocketAddress server, String file, boolean withUploads, InetAddress... from)
      throws IOException {
    for (InetAddress address : from) {
      DatagramChannel channel = DatagramChannel.open();
      senders.add(channel);
      channel.bind(new InetSocketAddress(address, 0));
    }
    byte[] read = FaultyClient.request(FaultyClient.RRQ, file, "octet", Map.of("timeout", "255"));
    byte[] write =
        FaultyClient.request(FaultyClient.WRQ, "flood-upload", "octet", Map.of("timeout", "255"));
    thread =
        Threads.daemon(
            "flood",
            () -> {
              long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
              try {
                for (long round = 0; !stop && System.nanoTime() < end; round++) {
                  for (DatagramChannel channel : senders) {
                    byte[] request = withUploads && round % 2 == 1 ? write : read;
                    channel.send(ByteBuffer.wrap(request), server);
                    sent.incrementAndGet();
                  }
                  Thread.sleep(2); // the flood's pace, not a wait for anything
                }
              } catch (IOException | InterruptedException e) {
                // closing ends the flood
              }
            });
    thread.start();
  }

  /** Waits (bounded) until this many requests went out. */
  public Flood awaitSent(long count) {
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertTrue(sent.get() >= count, "the flood sent " + sent.get()));
    return this;
  }

  @Override
  public void close() throws IOException {
    stop = true;
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (DatagramChannel channel : senders) {
      channel.close();
    }
  }
}
