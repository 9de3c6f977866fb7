package dev.buildhost.fleet.reboot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetException;
import dev.buildhost.fleet.FleetSettings;
import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** The reboot slots against a real etcd cluster; time is a clock the tests move. */
class RebootSemaphoreTest {
  private static final Duration TIMEOUT = Duration.ofHours(1);
  private static final Duration DRAIN = Duration.ofMinutes(30);

  @TempDir static Path dir;
  private static EtcdCluster etcd;

  private final List<AutoCloseable> opened = new ArrayList<>();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));
  private String fleetName;

  @BeforeAll
  static void startEtcd() throws Exception {
    etcd = EtcdCluster.start(dir, 1);
  }

  @AfterAll
  static void stopEtcd() throws Exception {
    if (etcd != null) {
      etcd.close();
    }
  }

  @BeforeEach
  void name(TestInfo info) {
    fleetName = "t" + Integer.toHexString(info.getDisplayName().hashCode());
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : opened) {
      c.close();
    }
  }

  private RebootSemaphore semaphore(int slots) {
    Fleet fleet =
        Fleet.connect(
            FleetSettings.of(etcd.endpoints(), fleetName, "tester")
                .withRebootSlots(slots, TIMEOUT)
                .withLeaseTtl(Duration.ofSeconds(5)));
    RebootSemaphore s = new RebootSemaphore(fleet, clock);
    opened.add(fleet);
    opened.add(0, s);
    return s;
  }

  @Test
  void atMostTheSlotsHoldAtOnceAndAFreedSlotGoesToTheWaiter() {
    RebootSemaphore s = semaphore(2);
    assertTrue(s.request("a", "boot-a", "new OS", DRAIN).granted());
    assertTrue(s.request("b", "boot-b", "new OS", DRAIN).granted());
    SlotRequest c = s.request("c", "boot-c", "new OS", DRAIN);
    assertFalse(c.granted());
    assertEquals(List.of("a", "b"), hosts(c.holders()));
    assertEquals(0, c.ahead());
    assertEquals(List.of("c"), s.read().waiters().stream().map(SlotWaiter::host).toList());

    assertEquals("a", s.release("a").orElseThrow().host());
    assertTrue(s.request("c", "boot-c", "new OS", DRAIN).granted());
    RebootSlots now = s.read();
    assertEquals(List.of("b", "c"), hosts(now.holders()));
    assertEquals(List.of(), now.waiters(), "a host that got its slot waits no more");
  }

  @Test
  void waitersGetFreeSlotsInTheOrderTheyAsked() {
    RebootSemaphore s = semaphore(1);
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    assertFalse(s.request("b", "boot-b", "r", DRAIN).granted());
    assertEquals(1, s.request("c", "boot-c", "r", DRAIN).ahead());
    s.release("a");

    SlotRequest c = s.request("c", "boot-c", "r", DRAIN);
    assertFalse(c.granted(), "b asked first");
    assertEquals(1, c.ahead());
    assertTrue(s.request("b", "boot-b", "r", DRAIN).granted());
  }

  @Test
  void askingAgainForAHeldSlotKeepsItAndReleasingNoSlotIsNothing() {
    RebootSemaphore s = semaphore(1);
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    assertEquals(1, s.read().holders().size());
    assertTrue(s.release("b").isEmpty());
    assertFalse(s.rebooting("b"), "a host without a slot cannot reboot");
  }

  @Test
  void aHolderThatDoesNotComeBackIsFreedAfterTheTimeoutCountedFromItsReboot() {
    RebootSemaphore s = semaphore(1);
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    clock.advance(Duration.ofMinutes(50));
    assertTrue(s.rebooting("a"));
    assertFalse(s.request("b", "boot-b", "r", DRAIN).granted());

    clock.advance(TIMEOUT.minusMinutes(1));
    SlotRequest early = s.request("b", "boot-b", "r", DRAIN);
    assertFalse(early.granted(), "the timeout counts from the reboot, not from taking the slot");
    assertEquals(List.of(), early.freed());

    clock.advance(Duration.ofMinutes(1));
    SlotRequest freed = s.request("b", "boot-b", "r", DRAIN);
    assertTrue(freed.granted());
    assertEquals(List.of("a"), hosts(freed.freed()));
    assertEquals(List.of("b"), hosts(s.read().holders()));
    assertFalse(s.rebooting("a"), "a's slot is gone");
  }

  @Test
  void aHolderThatDiesWhileDrainingIsFreedOnceItsDrainTimeoutAndTheSlotTimeoutPassed() {
    RebootSemaphore s = semaphore(1);
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    clock.advance(DRAIN.plus(TIMEOUT).minusSeconds(1));
    assertFalse(s.request("b", "boot-b", "r", DRAIN).granted(), "a may still be draining");
    clock.advance(Duration.ofSeconds(1));
    SlotRequest freed = s.request("b", "boot-b", "r", DRAIN);
    assertTrue(freed.granted());
    assertEquals(List.of("a"), hosts(freed.freed()));
  }

  @Test
  void aWaiterThatDiesLeavesTheListWithItsLease() {
    RebootSemaphore s = semaphore(1);
    RebootSemaphore other = semaphore(1);
    assertTrue(s.request("a", "boot-a", "r", DRAIN).granted());
    assertFalse(other.request("b", "boot-b", "r", DRAIN).granted());
    assertEquals(1, s.read().waiters().size());
    other.close();
    assertEquals(List.of(), s.read().waiters());
    other.withdraw("b"); // nothing left to withdraw: no error
  }

  @Test
  void hostsRacingForTheSlotsNeverGetMoreThanThereAre() throws Exception {
    int racers = 6;
    List<RebootSemaphore> each = new ArrayList<>();
    for (int i = 0; i < racers; i++) {
      each.add(semaphore(2));
    }
    ExecutorService pool = Executors.newFixedThreadPool(racers);
    try {
      List<Future<SlotRequest>> asked = new ArrayList<>();
      for (int i = 0; i < racers; i++) {
        String host = "h" + i;
        RebootSemaphore s = each.get(i);
        Callable<SlotRequest> ask = () -> s.request(host, "boot-" + host, "r", DRAIN);
        asked.add(pool.submit(ask));
      }
      int granted = 0;
      for (Future<SlotRequest> f : asked) {
        granted += f.get(1, TimeUnit.MINUTES).granted() ? 1 : 0;
      }
      assertEquals(2, granted);
      RebootSlots now = each.get(0).read();
      assertEquals(2, now.holders().size());
      assertEquals(racers - 2, now.waiters().size());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aValueThatIsNotJsonIsAnErrorNamingItsKey() {
    RebootSemaphore s = semaphore(1);
    Fleet fleet = Fleet.connect(FleetSettings.of(etcd.endpoints(), fleetName, "tester"));
    opened.add(fleet);
    fleet.await(
        fleet.client().getKVClient().put(bytes(s.slotsKey()), bytes("<html>")), "write garbage");
    FleetException e =
        assertThrows(FleetException.class, () -> s.request("a", "boot-a", "r", DRAIN));
    assertTrue(
        e.getMessage().startsWith("etcd key " + s.slotsKey() + " does not hold"), e.getMessage());
  }

  private static List<String> hosts(List<SlotHolder> holders) {
    return holders.stream().map(SlotHolder::host).toList();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
