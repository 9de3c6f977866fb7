package dev.buildhost.tftp.testing;

import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A started server with short timeouts that records its events. */
public final class ServerFixture implements AutoCloseable {
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
  public TransferEvent awaitEvent(TransferEvent.Kind kind, String file)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      for (TransferEvent e : events) {
        if (e.kind() == kind && e.fileName().equals(file)) {
          return e;
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no " + kind + " event for " + file + "; events: " + events);
  }

  /** Waits (bounded) until no transfer runs. */
  public void awaitIdle() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (server.activeTransfers() > 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(server.activeTransfers() + " transfers still active");
      }
      Thread.sleep(10);
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
