package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.instance.VirtualTime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.event.ConnectionCloseReason;

/**
 * Reconnecting after libvirtd went away, in virtual time. libvirtd is libvirt's mock driver on a
 * node file, {@code test:///DIR/node.xml}: while the file is missing, connecting fails as it does
 * while libvirtd is down; libvirt's close callback is played by calling {@code onClosed} as libvirt
 * does.
 */
class LibvirtConnectionTest {
  private static final Instant START = Instant.parse("2026-03-01T12:00:00Z");

  @TempDir Path dir;

  private final VirtualTime time = new VirtualTime(START);
  private final List<Instant> catchUps = new CopyOnWriteArrayList<>();
  private Path node;
  private LibvirtConnection connection;

  @BeforeEach
  void libvirtdUp() throws Exception {
    node = dir.resolve("node.xml");
    libvirtdStarts();
    connection =
        new LibvirtConnection(
            "test://" + node,
            (domain, event) -> 0,
            c -> catchUps.add(time.now()),
            time.scheduler());
  }

  @AfterEach
  void close() {
    connection.close();
  }

  private void libvirtdStarts() throws Exception {
    Files.writeString(node, "<node/>");
  }

  private void libvirtdStops() throws Exception {
    Files.delete(node);
  }

  private Instant at(Duration sinceStart) {
    return START.plus(sinceStart);
  }

  @Test
  void aLostConnectionIsOpenedAgainAfterDoublingDelaysAndThenCaughtUp() throws Exception {
    Connect lost = connection.get();
    libvirtdStops();
    connection.onClosed(lost, ConnectionCloseReason.KEEPALIVE);
    time.advance(Duration.ZERO); // the first attempt, at once, fails
    // Attempts follow at 200 ms, 600 ms (+400), 1400 ms (+800), ...
    time.advance(Duration.ofSeconds(1));
    libvirtdStarts();
    time.advance(Duration.ofMillis(399));
    assertEquals(List.of(), catchUps, "no attempt between 600 and 1400 ms");
    time.advance(Duration.ofMillis(1));

    assertEquals(List.of(at(Duration.ofMillis(1400))), catchUps);
    assertEquals(0, time.pending(), "no more attempts once caught up");
    assertNotSame(lost, connection.get());
  }

  @Test
  void attemptsAreNeverMoreThanFiveSecondsApart() throws Exception {
    connection.onClosed(connection.get(), ConnectionCloseReason.EOF);
    libvirtdStops();
    time.advance(Duration.ofSeconds(60));
    assertEquals(1, time.pending(), "one attempt waits at a time");
    libvirtdStarts();
    // 0, 0.2, 0.6, 1.4, 3.0, 6.2, then every 5 s: 11.2, ..., 56.2, 61.2
    time.advance(Duration.ofMillis(1199));
    assertEquals(List.of(), catchUps);
    time.advance(Duration.ofMillis(1));
    assertEquals(List.of(at(Duration.ofMillis(61_200))), catchUps);
  }

  @Test
  void aCatchUpThatFailsIsTriedAgainLater() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (LibvirtConnection failingOnce =
        new LibvirtConnection(
            "test://" + node,
            (domain, event) -> 0,
            c -> {
              catchUps.add(time.now());
              if (calls.incrementAndGet() == 1) {
                throw new BackendException("libvirtd answered no lookup yet");
              }
            },
            time.scheduler())) {
      failingOnce.onClosed(failingOnce.get(), ConnectionCloseReason.ERROR);
      time.advance(Duration.ofSeconds(10));
      assertEquals(List.of(at(Duration.ZERO), at(Duration.ofMillis(200))), catchUps);
      assertEquals(0, time.pending());
    }
  }

  @Test
  void aCloseTheDaemonAskedForNeedsNoReconnect() throws Exception {
    Connect open = connection.get();
    connection.onClosed(open, ConnectionCloseReason.CLIENT);
    assertEquals(0, time.pending());
    assertSame(open, connection.get());
  }

  @Test
  void aClosedConnectionNeitherReconnectsNorOpens() throws Exception {
    Connect open = connection.get();
    connection.close();
    connection.onClosed(open, ConnectionCloseReason.EOF);
    time.advance(Duration.ofMinutes(1));
    assertEquals(List.of(), catchUps);
    BackendException e = assertThrows(BackendException.class, connection::get);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void aMissingDomainIsNoneAndDestroyingItIsFine() throws Exception {
    assertNull(connection.lookup("buildhost-no-such-instance"));
    connection.destroy("buildhost-no-such-instance");
  }

  @Test
  void anUnreachableLibvirtdIsAClearError() throws Exception {
    libvirtdStops();
    BackendException e = assertThrows(BackendException.class, connection::get);
    assertTrue(e.getMessage().contains("cannot connect to libvirtd at test://"), e.getMessage());
    assertTrue(e.getMessage().contains("is libvirtd running?"), e.getMessage());
  }
}
