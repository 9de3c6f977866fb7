package dev.buildhost.manager.instance;

import dev.buildhost.common.time.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Time that stands still until a test moves it: a {@link Clock} and {@link Scheduler}s on it.
 * {@link #advance} runs the tasks that fall due, in time order, on the test's thread, with the
 * clock showing each task's due time while it runs. Each {@link #scheduler()} is closed on its own
 * (a manager closes its scheduler), so one time can outlive a daemon restart.
 */
public final class VirtualTime {
  private final PriorityQueue<Entry> due =
      new PriorityQueue<>(Comparator.comparing(Entry::at).thenComparingLong(Entry::sequence));
  private Instant now;
  private long sequence;

  private record Entry(Instant at, long sequence, Runnable task, View owner) {}

  public VirtualTime(Instant start) {
    this.now = start;
  }

  public synchronized Instant now() {
    return now;
  }

  public Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("virtual time is UTC only");
      }

      @Override
      public Instant instant() {
        return now();
      }
    };
  }

  /** A new scheduler on this time. */
  public Scheduler scheduler() {
    return new View();
  }

  /** Moves time forward by {@code step}, running every task due by then. */
  public void advance(Duration step) {
    Instant target;
    synchronized (this) {
      target = now.plus(step);
    }
    while (true) {
      Entry next;
      synchronized (this) {
        next = due.peek();
        if (next == null || next.at().isAfter(target)) {
          now = target;
          return;
        }
        due.poll();
        if (next.at().isAfter(now)) {
          now = next.at();
        }
      }
      next.task().run();
    }
  }

  /** How many tasks wait to fall due. */
  public synchronized int pending() {
    return due.size();
  }

  private final class View implements Scheduler {
    private boolean closed;

    @Override
    public Task schedule(Duration delay, Runnable task) {
      synchronized (VirtualTime.this) {
        if (closed) {
          return () -> {};
        }
        Entry entry =
            new Entry(now.plus(delay.isNegative() ? Duration.ZERO : delay), sequence++, task, this);
        due.add(entry);
        return () -> {
          synchronized (VirtualTime.this) {
            due.remove(entry);
          }
        };
      }
    }

    @Override
    public void close() {
      synchronized (VirtualTime.this) {
        closed = true;
        List<Entry> mine = new ArrayList<>();
        for (Entry entry : due) {
          if (entry.owner() == this) {
            mine.add(entry);
          }
        }
        due.removeAll(mine);
      }
    }
  }
}
