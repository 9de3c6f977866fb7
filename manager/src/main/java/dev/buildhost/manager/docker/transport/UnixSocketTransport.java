package dev.buildhost.manager.docker.transport;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * docker-java's transport for an engine on a unix socket, over the JDK's unix-domain socket
 * channels: one connection per request, closed with its response (a unix socket connects in
 * microseconds, so a pool would save nothing worth its state). It takes the place of the HTTP
 * client docker-java ships (Apache HttpClient, shaded), whose classes, public-suffix list and pool
 * an engine on a unix socket never needs (doc/operations.md, bench/footprint); an engine over TCP
 * still gets that one (DockerConnection).
 *
 * <p>Closing a response closes its connection, which ends a read blocked on it in another thread
 * (how docker-java stops an event or log stream); closing the transport closes every connection
 * still open.
 */
public final class UnixSocketTransport implements DockerHttpClient {

  private static final int BUFFER_BYTES = 8 * 1024;

  private final UnixDomainSocketAddress engine;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  public UnixSocketTransport(Path socket) {
    this.engine = UnixDomainSocketAddress.of(socket);
  }

  /**
   * Sends {@code request} and reads the head of the answer; the body is read from the response.
   *
   * @throws UncheckedIOException when the engine cannot be reached or its answer is malformed (the
   *     cause says which, a {@link java.net.ConnectException} when nothing listens)
   * @throws IllegalArgumentException when the request cannot be sent as it is
   */
  @Override
  public Response execute(Request request) {
    boolean hijack = request.hijackedInput() != null;
    SocketChannel channel = null;
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      open.add(channel);
      if (closed) {
        throw new IOException("the transport to " + engine + " is closed");
      }
      channel.connect(engine);
      RequestEncoder.write(
          request, hijack, new BufferedOutputStream(new ChannelOutput(channel), BUFFER_BYTES));
      InputStream in = new BufferedInputStream(new ChannelInput(channel), BUFFER_BYTES);
      ResponseHead head = ResponseHead.read(in);
      ChannelResponse response = new ChannelResponse(channel, head, body(request, head, in));
      if (hijack && head.status() == 101) {
        copyInBackground(request.hijackedInput(), channel);
      }
      return response;
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException(
          request.method()
              + " "
              + request.path()
              + " to the engine at "
              + engine.getPath()
              + ": "
              + e.getMessage(),
          e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  /** The body as its head frames it. */
  private static InputStream body(Request request, ResponseHead head, InputStream in)
      throws IOException {
    int status = head.status();
    if (status == 101) {
      return in; // the raw stream, until the engine closes the connection
    }
    if (request.method().equals("HEAD") || status / 100 == 1 || status == 204 || status == 304) {
      return InputStream.nullInputStream();
    }
    if (head.hasToken("Transfer-Encoding", "chunked")) {
      return new ChunkedInputStream(in);
    }
    String length = head.header("Content-Length");
    if (length == null) {
      return in;
    }
    try {
      long bytes = Long.parseLong(length);
      if (bytes >= 0) {
        return new FixedLengthInputStream(in, bytes);
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw new IOException(
        "malformed Content-Length in the engine's answer: " + HttpLines.quote(length));
  }

  /**
   * Copies what a caller writes to an attached container's stdin. The end of that input leaves the
   * connection as it is, as docker-java's own transport does: the engine takes a closed half as the
   * end of the attachment, output included.
   */
  private static void copyInBackground(InputStream stdin, SocketChannel channel) {
    Thread copy =
        new Thread(
            () -> {
              try (stdin) {
                stdin.transferTo(new ChannelOutput(channel));
              } catch (IOException e) {
                // the connection was closed: the attachment ended, so did its input
              }
            },
            "docker-stdin-" + channel.hashCode());
    copy.setDaemon(true);
    copy.start();
  }

  @Override
  public void close() {
    closed = true;
    for (SocketChannel channel : open) {
      closeQuietly(channel);
    }
  }

  private void closeQuietly(SocketChannel channel) {
    if (channel != null) {
      open.remove(channel);
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing: nothing is left to lose
      }
    }
  }

  /** One answer; closing it (or its body) closes its connection. */
  private final class ChannelResponse implements Response {
    private final SocketChannel channel;
    private final ResponseHead head;
    private final InputStream body;

    ChannelResponse(SocketChannel channel, ResponseHead head, InputStream body) {
      this.channel = channel;
      this.head = head;
      this.body =
          new FilterInputStream(body) {
            @Override
            public void close() {
              ChannelResponse.this.close();
            }
          };
    }

    /**
     * The status; a connection handed over to a raw stream (101) counts as 200, as docker-java
     * expects.
     */
    @Override
    public int getStatusCode() {
      return head.status() == 101 ? 200 : head.status();
    }

    @Override
    public Map<String, List<String>> getHeaders() {
      return head.headers();
    }

    @Override
    public String getHeader(String name) {
      return head.header(name);
    }

    @Override
    public InputStream getBody() {
      return body;
    }

    @Override
    public void close() {
      closeQuietly(channel);
    }
  }

  /**
   * Reads from the channel itself: the JDK's {@code Channels.newInputStream} holds the channel's
   * blocking lock while it waits, which would keep an attached stdin from being written.
   */
  private static final class ChannelInput extends BulkInputStream {
    private final SocketChannel channel;

    ChannelInput(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    protected int readSome(byte[] buffer, int offset, int length) throws IOException {
      return channel.read(ByteBuffer.wrap(buffer, offset, length));
    }
  }

  /** Writes to the channel itself (see {@link ChannelInput}). */
  private static final class ChannelOutput extends OutputStream {
    private final SocketChannel channel;

    ChannelOutput(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] buffer, int offset, int length) throws IOException {
      ByteBuffer bytes = ByteBuffer.wrap(buffer, offset, length);
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
    }
  }
}
