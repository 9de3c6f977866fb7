package dev.buildhost.manager.api;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection whose first request has not arrived whole (request line and headers) within a
 * deadline of its opening. The idle timeout alone does not do it: a client that sends one byte now
 * and then resets it forever. Stalled connections hold no thread (the server reads headers without
 * blocking one), only a socket, and this bounds how long.
 *
 * <p>It is both halves of the check: a {@link Connection.Listener} (added to the connector) that
 * arms the deadline when a connection opens, and a handler wrapper that disarms it when a request
 * on that connection reaches the handlers.
 */
final class HeaderDeadline extends Handler.Wrapper implements Connection.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(HeaderDeadline.class);

  private final Duration deadline;
  private final ScheduledExecutorService scheduler;
  private final Map<Connection, ScheduledFuture<?>> armed = new ConcurrentHashMap<>();
  private final AtomicLong closed = new AtomicLong();

  /**
   * @param deadline how long a new connection may take to send its first request's headers
   * @param scheduler runs the deadline checks (tests pass one they drive)
   */
  HeaderDeadline(Duration deadline, ScheduledExecutorService scheduler) {
    this.deadline = deadline;
    this.scheduler = scheduler;
  }

  @Override
  public void onOpened(Connection connection) {
    armed.put(
        connection,
        scheduler.schedule(() -> expire(connection), deadline.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Override
  public void onClosed(Connection connection) {
    disarm(connection);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    disarm(request.getConnectionMetaData().getConnection());
    return super.handle(request, response, callback);
  }

  /** Connections closed so far because their headers came too late. */
  long closedCount() {
    return closed.get();
  }

  private void disarm(Connection connection) {
    ScheduledFuture<?> check = armed.remove(connection);
    if (check != null) {
      check.cancel(false);
    }
  }

  private void expire(Connection connection) {
    if (armed.remove(connection) != null) {
      closed.incrementAndGet();
      LOG.debug(
          "closing {}: no complete request within {} ms of connecting",
          connection.getEndPoint().getRemoteSocketAddress(),
          deadline.toMillis());
      connection.close();
    }
  }
}
