package dev.buildhost.monitor.testing;

import dev.buildhost.monitor.state.Uptime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A wall clock and an uptime that only the test moves: steps of the one, passing time of both. */
public final class ManualTime {
  private volatile Instant wall;
  private volatile Duration up;

  public ManualTime(Instant wall, Duration up) {
    this.wall = wall;
    this.up = up;
  }

  /** Time passes: both move. */
  public void pass(Duration d) {
    wall = wall.plus(d);
    up = up.plus(d);
  }

  /** The wall clock is stepped (NTP, a wrong RTC); the uptime does not move. */
  public void stepWallClock(Duration d) {
    wall = wall.plus(d);
  }

  /** The host rebooted: the uptime starts again. */
  public void boot(Duration upAlready) {
    up = upAlready;
  }

  public Instant wall() {
    return wall;
  }

  public Uptime uptime() {
    return () -> up;
  }

  public Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return wall;
      }
    };
  }
}
