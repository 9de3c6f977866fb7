package dev.buildhost.manager.docker;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import dev.buildhost.manager.backend.BackendException;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Docker event stream of a backend: the start, die, oom and destroy events of the
 * containers that carry its root label.
 *
 * <p>When the stream breaks (the engine restarted, the connection dropped) it reconnects with a
 * growing pause and asks the engine to replay from the last event it saw ({@code since}), so no
 * event is lost while the engine keeps them; after each reconnection {@code onReconnect} runs so
 * the backend can compare what it tracks with the engine's state, for what it may still have
 * missed.
 */
final class ContainerEvents implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ContainerEvents.class);
  private static final Duration FIRST_RETRY = Duration.ofMillis(200);
  private static final Duration LAST_RETRY = Duration.ofSeconds(5);
  private static final Duration CONNECT_WAIT = Duration.ofSeconds(10);

  private final DockerConnection engine;
  private final Map<String, String> labelFilter;
  private final Consumer<Event> onEvent;
  private final Runnable onReconnect;
  private final ScheduledExecutorService scheduler;

  private boolean started;
  private volatile boolean closed;
  private volatile Closeable stream;

  /** Replay point in the engine's time format, seconds.nanoseconds. */
  private volatile String since;

  private volatile Duration retry = FIRST_RETRY;

  ContainerEvents(
      DockerConnection engine,
      Map<String, String> labelFilter,
      Consumer<Event> onEvent,
      Runnable onReconnect,
      ScheduledExecutorService scheduler) {
    this.engine = engine;
    this.labelFilter = Map.copyOf(labelFilter);
    this.onEvent = onEvent;
    this.onReconnect = onReconnect;
    this.scheduler = scheduler;
  }

  /** Opens the stream unless it is open; returns once the engine accepted it. */
  synchronized void ensureStarted() throws BackendException {
    if (started) {
      return;
    }
    // Replay from a moment ago: events of containers created right after this call can't slip by.
    long now = System.currentTimeMillis() - 1000;
    since = (now / 1000) + "." + String.format("%09d", (now % 1000) * 1_000_000);
    CountDownLatch connected = new CountDownLatch(1);
    connect(connected, false);
    // From here on the stream reconnects by itself when it fails, replaying what it missed.
    started = true;
    try {
      if (!connected.await(CONNECT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new BackendException(
            "the Docker engine at "
                + engine.host()
                + " did not open its event stream within "
                + CONNECT_WAIT.toSeconds()
                + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException("interrupted while opening the Docker event stream", e);
    }
  }

  private void connect(CountDownLatch connected, boolean reconnecting) throws BackendException {
    AtomicBoolean ended = new AtomicBoolean();
    engine
        .client()
        .eventsCmd()
        .withEventTypeFilter(EventType.CONTAINER)
        .withLabelFilter(labelFilter)
        .withEventFilter("start", "die", "oom", "destroy")
        .withSince(since)
        .exec(
            new ResultCallback.Adapter<Event>() {
              @Override
              public void onStart(Closeable closeable) {
                stream = closeable;
                retry = FIRST_RETRY;
                connected.countDown();
                if (reconnecting) {
                  LOG.info("the Docker event stream is back");
                  onReconnect.run();
                }
              }

              @Override
              public void onNext(Event event) {
                if (event.getTimeNano() != null) {
                  long nanos = event.getTimeNano();
                  since =
                      (nanos / 1_000_000_000L)
                          + "."
                          + String.format("%09d", nanos % 1_000_000_000L);
                }
                try {
                  onEvent.accept(event);
                } catch (RuntimeException e) {
                  LOG.error("handling Docker event {} failed", event, e);
                }
              }

              @Override
              public void onError(Throwable error) {
                ended("broke: " + error, ended);
              }

              @Override
              public void onComplete() {
                ended("was ended by the engine", ended);
              }
            });
  }

  /** The stream ended (docker-java may report one end twice: as an error, then as completion). */
  private void ended(String how, AtomicBoolean ended) {
    if (!closed && ended.compareAndSet(false, true)) {
      LOG.warn("the Docker event stream {}; reconnecting in {} ms", how, retry.toMillis());
      reconnectLater();
    }
  }

  @SuppressWarnings(
      "FutureReturnValueIgnored") // the retry reports its own failures and nothing waits for it
  private void reconnectLater() {
    Duration pause = retry;
    retry = pause.multipliedBy(2).compareTo(LAST_RETRY) > 0 ? LAST_RETRY : pause.multipliedBy(2);
    scheduler.schedule(
        () -> {
          if (closed) {
            return;
          }
          try {
            // A failed attempt ends its stream at once, and that schedules the next attempt.
            connect(new CountDownLatch(1), true);
          } catch (BackendException | RuntimeException e) {
            LOG.warn("reconnecting the Docker event stream failed: {}", e.getMessage());
            reconnectLater();
          }
        },
        pause.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    closed = true;
    Closeable current = stream;
    if (current != null) {
      try {
        current.close();
      } catch (IOException e) {
        LOG.debug("closing the event stream: {}", e.toString());
      }
    }
  }
}
