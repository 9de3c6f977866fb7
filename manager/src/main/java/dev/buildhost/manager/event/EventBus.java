package dev.buildhost.manager.event;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.model.InstanceEvent;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process publish/subscribe bus for {@link InstanceEvent}s. Each subscriber has its own
 * bounded queue and delivery thread, so a slow or failing subscriber delays nobody else and never
 * the lifecycle that publishes; when its queue is full the subscriber loses the event (counted and
 * logged) rather than blocking the publisher.
 */
public final class EventBus implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventBus.class);
  static final int QUEUE_CAPACITY = 4096;

  private final CopyOnWriteArrayList<Subscription> subscriptions = new CopyOnWriteArrayList<>();

  /** Delivers every event published from now on to {@code listener}, in publication order. */
  public AutoCloseable subscribe(Consumer<InstanceEvent> listener) {
    Subscription subscription = new Subscription(listener);
    subscriptions.add(subscription);
    subscription.thread.start();
    return subscription;
  }

  /** Queues the event for every subscriber; never blocks. */
  public void publish(InstanceEvent event) {
    for (Subscription subscription : subscriptions) {
      subscription.offer(event);
    }
  }

  public int subscriberCount() {
    return subscriptions.size();
  }

  @Override
  public void close() {
    for (Subscription subscription : subscriptions) {
      subscription.close();
    }
  }

  private final class Subscription implements AutoCloseable {
    private final Consumer<InstanceEvent> listener;
    private final BlockingQueue<InstanceEvent> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final Thread thread;
    private volatile boolean closed;
    private long dropped;

    Subscription(Consumer<InstanceEvent> listener) {
      this.listener = listener;
      this.thread = Threads.daemon("event-subscriber", this::deliver);
    }

    void offer(InstanceEvent event) {
      if (closed) {
        return;
      }
      if (!queue.offer(event)) {
        synchronized (this) {
          dropped++;
          if (dropped == 1 || dropped % 1000 == 0) {
            LOG.warn(
                "event subscriber {} is too slow: {} event(s) dropped so far", listener, dropped);
          }
        }
      }
    }

    private void deliver() {
      while (!closed) {
        InstanceEvent event;
        try {
          event = queue.poll(200, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          return;
        }
        if (event == null || closed) {
          continue;
        }
        try {
          listener.accept(event);
        } catch (RuntimeException e) {
          LOG.warn(
              "event subscriber {} failed on {} of {}",
              listener,
              event.kind(),
              event.instance().id(),
              e);
        }
      }
    }

    /** Unsubscribes: events still queued are dropped and the delivery thread ends. */
    @Override
    public void close() {
      closed = true;
      subscriptions.remove(this);
      queue.clear();
    }
  }
}
