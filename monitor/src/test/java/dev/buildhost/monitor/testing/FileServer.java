package dev.buildhost.monitor.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on 127.0.0.1 serving files that a test changes while it runs. Text is served
 * as {@code text/plain; charset=utf-8}, bytes as {@code application/octet-stream}.
 */
public final class FileServer implements AutoCloseable {
  public static final String TEXT = "text/plain; charset=utf-8";
  public static final String BINARY = "application/octet-stream";

  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  private record Entry(byte[] body, int status, long delayMs, String contentType, boolean chunked) {
    Entry(byte[] body, int status, long delayMs, String contentType) {
      this(body, status, delayMs, contentType, false);
    }
  }

  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final Map<String, Entry> files = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final CountDownLatch closing = new CountDownLatch(1);

  public FileServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  public URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  public FileServer put(String path, byte[] body) {
    return put(path, body, BINARY);
  }

  public FileServer put(String path, String body) {
    return put(path, body.getBytes(StandardCharsets.UTF_8), TEXT);
  }

  /** Serves {@code body} with this Content-Type (null: no Content-Type header). */
  public FileServer put(String path, byte[] body, String contentType) {
    files.put(path, new Entry(body, 200, 0, contentType));
    return this;
  }

  /** Serves {@code body} without a Content-Length (chunked): its size shows only as it arrives. */
  public FileServer putChunked(String path, byte[] body) {
    files.put(path, new Entry(body, 200, 0, BINARY, true));
    return this;
  }

  /** Answers this status (with a short body) instead of the file. */
  public FileServer status(String path, int status) {
    files.put(path, new Entry("error\n".getBytes(StandardCharsets.UTF_8), status, 0, TEXT));
    return this;
  }

  /** Serves the body only after a delay (bounded by the server's closing). */
  public FileServer slow(String path, byte[] body, long delayMs) {
    files.put(path, new Entry(body, 200, delayMs, TEXT));
    return this;
  }

  public int hits(String path) {
    AtomicInteger n = hits.get(path);
    return n == null ? 0 : n.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
    Entry e = files.get(path);
    try (ex) {
      if (e == null) {
        ex.sendResponseHeaders(404, -1);
        return;
      }
      if (e.delayMs > 0) {
        try {
          closing.await(e.delayMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }
      if (e.contentType != null) {
        ex.getResponseHeaders().set("Content-Type", e.contentType);
      }
      ex.sendResponseHeaders(e.status, e.chunked ? 0 : e.body.length == 0 ? -1 : e.body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(e.body);
      }
    } catch (IOException ignored) {
      // the client went away (timeouts are tested)
    }
  }

  @Override
  public void close() {
    closing.countDown();
    server.stop(0);
    pool.shutdownNow();
  }
}
