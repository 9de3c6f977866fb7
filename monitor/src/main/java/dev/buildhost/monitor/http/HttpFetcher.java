package dev.buildhost.monitor.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * HTTP GETs with a connect timeout and a total timeout (headers and body together), streaming the
 * body into a SHA-256 digest and a file or a size-capped buffer. A timed-out fetch is cancelled and
 * writes nothing more.
 */
public final class HttpFetcher {
  private final HttpClient client;
  private final Duration connectTimeout;
  private final Duration timeout;

  public HttpFetcher(Duration connectTimeout, Duration timeout) {
    this.connectTimeout = connectTimeout;
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(connectTimeout)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    this.timeout = timeout;
  }

  /**
   * A body read whole: its bytes, their SHA-256 and the response's {@code Content-Type} (null when
   * the server sent none).
   */
  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  public record Fetched(byte[] bytes, String sha256, String contentType) {}

  /** A body streamed to a file: its size and SHA-256. */
  public record Downloaded(long size, String sha256) {}

  /** Fetches a small body; more than {@code maxBytes} is an error. */
  public Fetched fetch(URI uri, long maxBytes) throws FetchException {
    Sink sink = new Sink(null, maxBytes, ProgressListener.NONE);
    Result r = run(uri, sink, ProgressListener.NONE, uri.toString());
    return new Fetched(sink.buffer.toByteArray(), r.sha256, r.contentType);
  }

  /**
   * Streams a body into {@code file} (created or truncated), reporting progress; more than {@code
   * maxBytes} (announced or received) is an error that stops the download.
   */
  public Downloaded download(
      URI uri, Path file, String name, long maxBytes, ProgressListener progress)
      throws FetchException {
    FileChannel ch;
    try {
      ch =
          FileChannel.open(
              file,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new FetchException("cannot write " + file + ": " + e.getMessage(), -1, e);
    }
    Sink sink = new Sink(ch, maxBytes, progress);
    try {
      Result r = run(uri, sink, progress, name);
      return new Downloaded(r.size, r.sha256);
    } finally {
      sink.closeQuietly();
    }
  }

  private record Result(long size, String sha256, String contentType) {}

  private Result run(URI uri, Sink sink, ProgressListener progress, String name)
      throws FetchException {
    HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    CompletableFuture<HttpResponse<Result>> cf =
        client.sendAsync(
            req,
            info -> {
              if (info.statusCode() != 200) {
                return BodySubscribers.replacing(null);
              }
              long announced = info.headers().firstValueAsLong("content-length").orElse(-1);
              if (announced > sink.maxBytes) {
                sink.announcedTooLarge = announced;
              }
              progress.started(name, announced);
              return sink;
            });
    boolean ok = false;
    try {
      HttpResponse<Result> resp = cf.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (resp.statusCode() != 200) {
        throw new FetchException(
            "HTTP " + resp.statusCode() + " from " + uri, resp.statusCode(), null);
      }
      ok = true;
      Result body = resp.body();
      return new Result(
          body.size, body.sha256, resp.headers().firstValue("content-type").orElse(null));
    } catch (TimeoutException e) {
      sink.cancel();
      cf.cancel(true);
      throw new FetchException(
          "timed out after " + timeout.toMillis() + " ms fetching " + uri, -1, e);
    } catch (InterruptedException e) {
      sink.cancel();
      cf.cancel(true);
      Thread.currentThread().interrupt();
      throw new FetchException("interrupted fetching " + uri, -1, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      if (c instanceof TooLarge) {
        throw new FetchException(
            c.getMessage() + " at " + uri + " (over the size cap; not fetched further)",
            -1,
            c,
            false);
      }
      if (c instanceof java.net.http.HttpConnectTimeoutException) {
        throw new FetchException(
            "cannot connect within " + connectTimeout.toMillis() + " ms to " + uri, -1, c);
      }
      if (c instanceof java.net.http.HttpTimeoutException) {
        throw new FetchException(
            "timed out after " + timeout.toMillis() + " ms fetching " + uri, -1, c);
      }
      throw new FetchException(
          c.getClass().getSimpleName()
              + (c.getMessage() == null ? "" : ": " + c.getMessage())
              + " fetching "
              + uri,
          -1,
          c);
    } finally {
      if (sink.started) {
        progress.finished(ok);
      }
    }
  }

  /** A body over its size cap. */
  private static final class TooLarge extends IOException {
    TooLarge(String message) {
      super(message);
    }
  }

  /** Writes each buffer to the file or buffer and the digest as it arrives. */
  private static final class Sink implements BodySubscriber<Result> {
    /** The Content-Length when it exceeds the cap: nothing is read then. */
    private volatile long announcedTooLarge = -1;

    private final FileChannel channel;
    private final long maxBytes;
    private final ProgressListener progress;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final CompletableFuture<Result> body = new CompletableFuture<>();
    private final MessageDigest digest;
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;
    private volatile boolean started;
    private long size;

    Sink(FileChannel channel, long maxBytes, ProgressListener progress) {
      this.channel = channel;
      this.maxBytes = maxBytes;
      this.progress = progress;
      try {
        this.digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public CompletionStage<Result> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      started = true;
      if (cancelled) {
        s.cancel();
        return;
      }
      if (announcedTooLarge >= 0) {
        s.cancel();
        body.completeExceptionally(
            new TooLarge(
                "announced " + announcedTooLarge + " bytes, more than " + maxBytes + " bytes"));
        return;
      }
      s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (cancelled || body.isDone()) {
        subscription.cancel();
        return;
      }
      try {
        for (ByteBuffer b : items) {
          int n = b.remaining();
          size += n;
          if (size > maxBytes) {
            throw new TooLarge("more than " + maxBytes + " bytes");
          }
          digest.update(b.duplicate());
          if (channel != null) {
            while (b.hasRemaining()) {
              channel.write(b);
            }
          } else {
            byte[] bytes = new byte[n];
            b.get(bytes);
            buffer.write(bytes, 0, n);
          }
        }
        progress.advanced(size);
        subscription.request(1);
      } catch (IOException e) {
        subscription.cancel();
        body.completeExceptionally(e);
      }
    }

    @Override
    public void onError(Throwable t) {
      body.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      if (!cancelled) {
        try {
          if (channel != null) {
            channel.force(false);
          }
          body.complete(new Result(size, HexFormat.of().formatHex(digest.digest()), null));
        } catch (IOException e) {
          body.completeExceptionally(e);
        }
      }
    }

    void cancel() {
      cancelled = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    void closeQuietly() {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // nothing more to write
        }
      }
    }
  }
}
