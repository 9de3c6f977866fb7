package dev.buildhost.manager.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class EventBusTest {
  private static InstanceEvent event(int n) {
    Instance instance =
        new Instance(
            "i-" + n,
            "m",
            "1.0",
            MachineType.KVM,
            InstanceState.RUNNING,
            null,
            null,
            1,
            Instant.EPOCH,
            null,
            null,
            null);
    return new InstanceEvent(InstanceEvent.Kind.RUNNING, Instant.EPOCH, instance, null);
  }

  private static void await(String what, java.util.function.BooleanSupplier condition) {
    Awaitility.await(what)
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(5))
        .until(condition::getAsBoolean);
  }

  @Test
  void eachSubscriberGetsEveryEventInOrderAndAStuckOneBlocksNobody() throws Exception {
    try (EventBus bus = new EventBus()) {
      CountDownLatch release = new CountDownLatch(1);
      List<String> stuckGot = new CopyOnWriteArrayList<>();
      bus.subscribe(
          e -> {
            stuckGot.add(e.instance().id());
            try {
              release.await();
            } catch (InterruptedException ex) {
              Thread.currentThread().interrupt();
            }
          });
      List<String> got = new CopyOnWriteArrayList<>();
      bus.subscribe(e -> got.add(e.instance().id()));
      int count = EventBus.QUEUE_CAPACITY + 100;
      // Two rounds, each within the queue of the subscriber that keeps up, however late its
      // thread runs; the stuck one's queue overflows in the second.
      long started = System.nanoTime();
      for (int i = 0; i < EventBus.QUEUE_CAPACITY; i++) {
        bus.publish(event(i));
      }
      long publishing = System.nanoTime() - started;
      await("the first round", () -> got.size() == EventBus.QUEUE_CAPACITY);
      started = System.nanoTime();
      for (int i = EventBus.QUEUE_CAPACITY; i < count; i++) {
        bus.publish(event(i));
      }
      publishing += System.nanoTime() - started;
      assertTrue(publishing < TimeUnit.SECONDS.toNanos(5), "publishing never waits");
      await("all events", () -> got.size() == count);
      for (int i = 0; i < count; i++) {
        assertEquals("i-" + i, got.get(i));
      }
      release.countDown();
      await("the stuck subscriber catches up", () -> stuckGot.size() >= EventBus.QUEUE_CAPACITY);
      assertTrue(
          stuckGot.size() <= EventBus.QUEUE_CAPACITY + 1,
          "its overflow was dropped: " + stuckGot.size());
    }
  }

  @Test
  void aFailingSubscriberKeepsReceivingAndAClosedOneStops() throws Exception {
    try (EventBus bus = new EventBus()) {
      List<String> got = new CopyOnWriteArrayList<>();
      bus.subscribe(
          e -> {
            got.add(e.instance().id());
            throw new IllegalStateException("subscriber bug");
          });
      List<String> closedGot = new CopyOnWriteArrayList<>();
      AutoCloseable closing = bus.subscribe(e -> closedGot.add(e.instance().id()));
      bus.publish(event(1));
      await("first events", () -> got.size() == 1 && closedGot.size() == 1);
      closing.close();
      assertEquals(1, bus.subscriberCount());
      bus.publish(event(2));
      await("second event", () -> got.size() == 2);
      // Nothing can prove an event never comes; the closed subscriber's thread had as long as the
      // open one, which got its event, and keeps getting nothing for a while more.
      Awaitility.await("the closed subscriber gets nothing")
          .during(Duration.ofMillis(100))
          .atMost(Duration.ofSeconds(2))
          .until(() -> closedGot.equals(List.of("i-1")));
    }
  }
}
