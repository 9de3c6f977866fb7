package dev.buildhost.manager.api;

import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.model.InstanceEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/events}: lifecycle events as server-sent events ({@code event:} the kind, {@code
 * data:} the event as one line of JSON). The manager's thread only queues an event; the client's
 * own thread writes it, so a slow client cannot hold the manager up. A client that falls more than
 * {@link #QUEUE_CAPACITY} events behind is disconnected.
 */
final class EventStream {

  private static final Logger log = LoggerFactory.getLogger(EventStream.class);
  static final int QUEUE_CAPACITY = 1024;
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

  /** Put into every queue at close: the stream ends. */
  private static final InstanceEvent END =
      new InstanceEvent(InstanceEvent.Kind.DELETED, null, null, "end");

  private final InstanceManager manager;
  private final Set<BlockingQueue<InstanceEvent>> queues = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  EventStream(InstanceManager manager) {
    this.manager = manager;
  }

  @SuppressWarnings("ReferenceEquality") // END is a sentinel: only that very object ends the stream
  void handle(Request request) throws IOException {
    String only = request.query("instance");
    BlockingQueue<InstanceEvent> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    AutoCloseable subscription =
        manager.subscribe(
            event -> {
              if (only == null
                  || (event.instance() != null && only.equals(event.instance().id()))) {
                if (!queue.offer(event)) {
                  end(queue, true);
                }
              }
            });
    queues.add(queue); // counted as open once subscribed
    if (closed) {
      end(queue, false); // close() may have gone over the queues before this one was added
    }
    try {
      request.exchange().getResponseHeaders().set("Cache-Control", "no-cache");
      try (OutputStream out = request.startStream(200, "text/event-stream; charset=utf-8")) {
        // Subscribed before the headers go out: a client that saw them misses no later event.
        write(out, ": subscribed\n\n");
        while (true) {
          InstanceEvent event = queue.poll(KEEP_ALIVE.toMillis(), TimeUnit.MILLISECONDS);
          if (event == END) {
            break;
          }
          write(out, event == null ? ": keep-alive\n\n" : format(event));
        }
      }
    } catch (IOException e) {
      log.debug("event stream client went away: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      queues.remove(queue);
      try {
        subscription.close();
      } catch (Exception e) {
        log.debug("unsubscribing an event stream failed: {}", e.toString());
      }
    }
  }

  /** How many clients follow the stream now. */
  int openStreams() {
    return queues.size();
  }

  /** One event in the SSE wire format. */
  static String format(InstanceEvent event) throws IOException {
    return "event: "
        + event.kind()
        + "\ndata: "
        + Json.MAPPER.writeValueAsString(Views.event(event))
        + "\n\n";
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /**
   * Ends every open stream once its client has been sent what is queued for it: the last events
   * before a daemon stops (an instance's STOPPED) still reach the clients.
   */
  void close() {
    closed = true;
    for (BlockingQueue<InstanceEvent> queue : queues) {
      end(queue, false);
    }
  }

  /**
   * Puts {@link #END} into {@code queue}: after what it holds, or instead of it when {@code
   * dropPending} or when it is full (a client that far behind is cut off).
   */
  private static void end(BlockingQueue<InstanceEvent> queue, boolean dropPending) {
    if (dropPending || !queue.offer(END)) {
      queue.clear();
      queue.offer(END);
    }
  }
}
