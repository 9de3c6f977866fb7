package dev.buildhost.tftp.server;

import dev.buildhost.common.threads.Threads;
import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that receives the requests of many TFTP servers: each server's port is a channel
 * registered with one selector, so that a process serving a port per instance (the daemon) holds
 * one request thread in all, not one per port. A request is parsed and its transfer handed to the
 * server's pool on this thread, which never waits for a client.
 *
 * <p>A server given no loop ({@link TftpServer.Builder#requestLoop}) starts one of its own and
 * closes it with itself. A shared loop is closed by its owner, after its servers.
 */
public final class RequestLoop implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");

  /** How long closing a server's channel waits for the loop to release it. */
  private static final long RELEASE_TIMEOUT_SECONDS = 10;

  private final Selector selector;
  private final Thread thread;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final TransferBufferPool transferBuffers = new TransferBufferPool();
  private volatile boolean closed;

  private RequestLoop(String name) throws IOException {
    this.selector = Selector.open();
    this.thread = Threads.daemon(name, this::run);
  }

  /**
   * Starts a loop on a thread named {@code name} (servers' threads start with {@code tftp-}, so
   * that a thread dump tells them apart).
   */
  public static RequestLoop start(String name) throws IOException {
    RequestLoop loop = new RequestLoop(name);
    loop.thread.start();
    return loop;
  }

  /**
   * Serves {@code channel}: {@code onReadable} runs on the loop's thread whenever a datagram waits
   * on it, and must read without blocking. The channel is switched to non-blocking mode.
   */
  void register(DatagramChannel channel, Runnable onReadable) throws IOException {
    if (closed) {
      throw new IOException("the TFTP request loop is closed");
    }
    channel.configureBlocking(false);
    channel.register(selector, SelectionKey.OP_READ, onReadable);
    selector.wakeup();
  }

  /**
   * Stops serving {@code channel} and closes it; returns once its port is free again (a channel
   * registered with a selector keeps its socket until the selector lets go of it).
   */
  void release(DatagramChannel channel) {
    if (Thread.currentThread() == thread || closed) {
      closeNow(channel);
      return;
    }
    CompletableFuture<Void> released = new CompletableFuture<>();
    tasks.add(
        () -> {
          closeNow(channel);
          released.complete(null);
        });
    selector.wakeup();
    if (closed && !thread.isAlive()) {
      closeNow(channel); // the loop ended before it could run the task
      return;
    }
    try {
      released.get(RELEASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("TFTP request loop {}: a port was not released in time: {}", thread.getName(), e);
    }
  }

  private void closeNow(DatagramChannel channel) {
    SelectionKey key = channel.keyFor(selector);
    if (key != null) {
      key.cancel();
    }
    try {
      channel.close();
      if (!closed) {
        selector.selectNow(); // flushes the cancelled key: the socket is closed now
      }
    } catch (IOException | ClosedSelectorException e) {
      LOG.debug("closing a TFTP request channel", e);
    }
  }

  /** The transfer buffers of the servers that share this loop. */
  TransferBufferPool transferBuffers() {
    return transferBuffers;
  }

  /** Stops the loop; the channels still registered are closed. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    transferBuffers.clear();
    selector.wakeup();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(RELEASE_TIMEOUT_SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      while (!closed) {
        selector.select();
        for (Runnable task; (task = tasks.poll()) != null; ) {
          task.run();
        }
        for (SelectionKey key : selector.selectedKeys()) {
          if (key.isValid() && key.isReadable()) {
            serve((Runnable) key.attachment());
          }
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | ClosedSelectorException e) {
      if (!closed) {
        LOG.error("TFTP request loop {} stopped: {}", thread.getName(), e.toString());
      }
    } finally {
      for (Runnable task; (task = tasks.poll()) != null; ) {
        task.run();
      }
      for (SelectionKey key : selector.keys()) {
        try {
          key.channel().close();
        } catch (IOException e) {
          LOG.debug("closing a TFTP request channel", e);
        }
      }
      try {
        selector.close();
      } catch (IOException e) {
        LOG.debug("closing the TFTP request selector", e);
      }
    }
  }

  private void serve(Runnable onReadable) {
    try {
      onReadable.run();
    } catch (RuntimeException e) {
      LOG.error("TFTP request loop {}: serving a request failed", thread.getName(), e);
    }
  }
}
