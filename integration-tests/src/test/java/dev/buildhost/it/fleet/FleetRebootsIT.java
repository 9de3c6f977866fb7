package dev.buildhost.it.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.daemon.WorkerBackend;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/fleet/reboots} against a real etcd: the slots that monitors (here semaphores of
 * the test's, as the monitors use them) take and wait for, as any daemon of the fleet shows them;
 * {@code 503} once etcd is gone.
 */
class FleetRebootsIT {

  private static final Duration SLOT_TIMEOUT = Duration.ofMinutes(20);
  private static final Duration DRAIN = Duration.ofMinutes(5);
  private static final Instant T0 = Instant.parse("2026-05-04T10:00:00Z");

  @TempDir Path tmp;
  private EtcdCluster cluster;

  @BeforeEach
  void startCluster() throws Exception {
    Requirement.command("etcd");
    cluster = EtcdCluster.start(tmp.resolve("etcd"), 1);
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private FleetSettings fleet(String host) {
    return FleetSettings.of(cluster.endpoints(), "it-reboots", host)
        .withRebootSlots(1, SLOT_TIMEOUT);
  }

  @Test
  @SuppressWarnings("try") // the daemon runs for the try block; the test talks to it over HTTP
  void showsWhoHoldsTheSlotInWhichPhaseAndWhoWaitsInOrder() throws Exception {
    Path root = tmp.resolve("root");
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    DaemonSettings settings = TestDaemons.settings(root, 2).withFleet(fleet("it-viewer"));
    Clock at = Clock.fixed(T0, ZoneOffset.UTC);
    try (Daemon daemon =
            Daemon.start(
                settings, config -> List.of(new WorkerBackend()), ApiServer.Limits.DEFAULT);
        Fleet monitors = Fleet.connect(fleet("it-monitors"));
        RebootSemaphore slots = new RebootSemaphore(monitors, at)) {
      ApiClient client = ApiClient.forStateDir(root.resolve("state"));
      FleetRebootsView none = client.fleetReboots();
      assertEquals(1, none.slots());
      assertEquals(SLOT_TIMEOUT.toSeconds(), none.slotTimeoutSeconds());
      assertEquals(List.of(), none.holders());
      assertEquals(List.of(), none.waiters());

      assertTrue(slots.request("host-a", "boot-a", "OS build-id changed", DRAIN).granted());
      assertEquals(
          false, slots.request("host-b", "boot-b", "OS build-id changed", DRAIN).granted());
      assertEquals(false, slots.request("host-c", "boot-c", "toolchain changed", DRAIN).granted());

      FleetRebootsView draining = client.fleetReboots();
      assertEquals(1, draining.holders().size(), draining.toString());
      FleetRebootsView.Holder a = draining.holders().get(0);
      assertEquals("host-a", a.host());
      assertEquals(T0, a.since());
      assertEquals(FleetRebootsView.Phase.DRAINING, a.phase());
      assertEquals("OS build-id changed", a.reason());
      assertEquals("boot-a", a.bootId());
      assertEquals(T0.plus(DRAIN), a.drainUntil());
      assertNull(a.rebootingSince());
      assertEquals(T0.plus(DRAIN).plus(SLOT_TIMEOUT), a.expiresAt());
      assertEquals(
          List.of(
              new FleetRebootsView.Waiter("host-b", 1, T0, "OS build-id changed"),
              new FleetRebootsView.Waiter("host-c", 2, T0, "toolchain changed")),
          draining.waiters());

      assertTrue(slots.rebooting("host-a"));
      FleetRebootsView.Holder rebooting = client.fleetReboots().holders().get(0);
      assertEquals(FleetRebootsView.Phase.REBOOTING, rebooting.phase());
      assertEquals(T0, rebooting.rebootingSince());
      assertEquals(T0.plus(SLOT_TIMEOUT), rebooting.expiresAt());

      slots.release("host-a");
      assertTrue(slots.request("host-b", "boot-b", "OS build-id changed", DRAIN).granted());
      FleetRebootsView next = client.fleetReboots();
      assertEquals(List.of("host-b"), next.holders().stream().map(h -> h.host()).toList());
      assertEquals(
          List.of(new FleetRebootsView.Waiter("host-c", 1, T0, "toolchain changed")),
          next.waiters());

      cluster.close();
      ApiClientException down = assertThrows(ApiClientException.class, client::fleetReboots);
      assertEquals(503, down.status(), down.getMessage());
      assertTrue(down.getMessage().contains("etcd (" + cluster.endpointsText()), down.getMessage());
    }
  }
}
