package dev.buildhost.monitor.reboot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class RebootHistoryTest {
  static final Duration HOUR = Duration.ofHours(1);
  static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

  static RebootRecord at(String time, Long hostClock) {
    return new RebootRecord(time, "r", "h", "b", "d", hostClock);
  }

  @Test
  void hostTimeDecidesWhenBothHaveIt() {
    RebootHistory h =
        new RebootHistory(
            List.of(
                at("2026-12-01T09:00:00Z", 1_000_000L),
                at("2030-01-01T00:00:00Z", 1_000_000L + 3_600_000L)));
    List<RebootHistory.Counted> c =
        h.within(NOW, OptionalLong.of(1_000_000L + 3_600_000L + 60_000), HOUR);
    assertEquals(1, c.size(), "the first is 61 minutes old on the host clock, whatever its date");
    assertEquals(Duration.ofMinutes(59), c.get(0).leavesWindowIn());
  }

  @Test
  void recordsWithoutHostTimeUseTheWallClockAndCountWhenDatedInTheFuture() {
    RebootHistory h =
        new RebootHistory(
            List.of(
                at("2026-12-01T10:59:00Z", null),
                at("2026-12-01T11:30:00Z", null),
                at("2026-12-01T15:00:00Z", null),
                at("not a time", null)));
    List<RebootHistory.Counted> c = h.within(NOW, OptionalLong.empty(), HOUR);
    assertEquals(
        List.of(Instant.parse("2026-12-01T11:30:00Z"), Instant.parse("2026-12-01T15:00:00Z")),
        c.stream().map(RebootHistory.Counted::time).toList());
    assertEquals(
        Duration.ofHours(4),
        c.get(1).leavesWindowIn(),
        "counts until the wall clock passes it by an hour");
  }
}
