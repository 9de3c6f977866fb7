package dev.buildhost.it.container;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A unix socket that forwards every connection to the Docker engine's socket and can drop them all,
 * or refuse new ones for a while: what a client sees when the engine goes away and comes back,
 * without disturbing the engine other tests use.
 */
final class EngineSocketProxy implements AutoCloseable {

  private static final Path ENGINE = Path.of("/var/run/docker.sock");

  private final Path socket;
  private final ServerSocketChannel server;
  private final List<SocketChannel> open = new CopyOnWriteArrayList<>();
  private volatile boolean refusing;
  private volatile boolean closed;

  EngineSocketProxy(Path socket) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread acceptor = new Thread(this::accept, "engine-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** {@code unix://<socket>}, for {@code ManagerConfig.dockerHost}. */
  String dockerHost() {
    return "unix://" + socket;
  }

  /** Closes every forwarded connection (event stream, log streams, pooled connections). */
  void dropConnections() {
    for (SocketChannel channel : open) {
      closeQuietly(channel);
    }
    open.clear();
  }

  /** While true, new connections are closed as soon as they are accepted. */
  void refuse(boolean refuse) {
    this.refusing = refuse;
  }

  private void accept() {
    while (!closed) {
      try {
        SocketChannel client = server.accept();
        if (refusing) {
          closeQuietly(client);
          continue;
        }
        SocketChannel engine = SocketChannel.open(UnixDomainSocketAddress.of(ENGINE));
        open.add(client);
        open.add(engine);
        pump(client, engine);
        pump(engine, client);
      } catch (IOException e) {
        if (!closed) {
          throw new IllegalStateException("the engine proxy failed", e);
        }
      }
    }
  }

  private void pump(SocketChannel from, SocketChannel to) {
    Thread thread =
        new Thread(
            () -> {
              ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
              try {
                while (from.read(buffer) >= 0) {
                  buffer.flip();
                  while (buffer.hasRemaining()) {
                    to.write(buffer);
                  }
                  buffer.clear();
                }
              } catch (IOException e) {
                // dropped: the other side is closed below
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "engine-proxy-pump");
    thread.setDaemon(true);
    thread.start();
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing a connection we drop anyway
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    dropConnections();
    Files.deleteIfExists(socket);
  }
}
