package dev.buildhost.tftp.testing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A started server with short timeouts that records its events. */
public final class ServerFixture implements AutoCloseable {
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final Duration POLL = Duration.ofMillis(10);

  public final TftpServer server;
  public final List<TransferEvent> events = new CopyOnWriteArrayList<>();

  public ServerFixture(Path root, Consumer<TftpServer.Builder> configure) throws IOException {
    TftpServer.Builder builder =
        TftpServer.builder(root)
            .port(0)
            .timeout(Duration.ofMillis(200))
            .maxRetries(3)
            .listener(events::add);
    configure.accept(builder);
    server = builder.build().start();
  }

  public InetSocketAddress address() {
    return server.localAddress();
  }

  public FaultyClient client() throws IOException {
    return new FaultyClient(address());
  }

  /** Waits (bounded) until an event of this kind for this file arrives. */
  public TransferEvent awaitEvent(TransferEvent.Kind kind, String file) {
    return awaitEvent(events, kind, file);
  }

  /** Waits (bounded) until {@code events} holds one of this kind for this file. */
  public static TransferEvent awaitEvent(
      Collection<TransferEvent> events, TransferEvent.Kind kind, String file) {
    await()
        .atMost(PATIENCE)
        .pollInterval(POLL)
        .untilAsserted(
            () ->
                assertTrue(
                    find(events, kind, file).isPresent(),
                    "no " + kind + " event for " + file + "; events: " + events));
    return find(events, kind, file).orElseThrow();
  }

  private static Optional<TransferEvent> find(
      Collection<TransferEvent> events, TransferEvent.Kind kind, String file) {
    return events.stream().filter(e -> e.kind() == kind && e.fileName().equals(file)).findFirst();
  }

  /** Waits (bounded) until no transfer runs. */
  public void awaitIdle() {
    awaitIdle(server);
  }

  /** Waits (bounded) until no transfer of {@code server} runs. */
  public static void awaitIdle(TftpServer server) {
    await()
        .atMost(PATIENCE)
        .pollInterval(POLL)
        .untilAsserted(() -> assertEquals(0, server.activeTransfers(), "transfers still active"));
  }

  @Override
  public void close() {
    server.close();
  }
}
