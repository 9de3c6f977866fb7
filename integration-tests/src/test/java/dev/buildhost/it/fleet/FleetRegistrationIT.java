package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.HostRegistry;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.daemon.WorkerBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon's host record in a real 3-member etcd cluster: it appears when the daemon starts,
 * follows the host's changes (also after the leader is killed), shows in the fleet's routes, and
 * goes when the daemon stops; a host that dies without leaving vanishes within its lease.
 */
class FleetRegistrationIT {

  private static final Duration TTL = Duration.ofSeconds(3);
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  @TempDir Path tmp;
  private EtcdCluster cluster;

  @BeforeEach
  void startCluster() throws Exception {
    Requirement.command("etcd");
    cluster = EtcdCluster.start(tmp.resolve("etcd"), 3);
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private FleetSettings fleet(String host) {
    return FleetSettings.of(cluster.endpoints(), "it-registration", host).withLeaseTtl(TTL);
  }

  private static Optional<FleetHostView> record(ApiClient client, String host) {
    return client.fleetHosts().stream().filter(h -> h.host().equals(host)).findFirst();
  }

  @Test
  @SuppressWarnings("try") // the daemon runs for the try block; the test talks to it over HTTP
  void theDaemonsRecordFollowsItsHostThroughALeaderChangeAndGoesWhenItStops() throws Exception {
    Path root = tmp.resolve("root");
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    DaemonSettings settings = TestDaemons.settings(root, 4).withFleet(fleet("it-host-a"));
    ApiClient client;
    try (Daemon daemon =
        Daemon.start(settings, config -> List.of(new WorkerBackend()), ApiServer.Limits.DEFAULT)) {
      client = ApiClient.forStateDir(root.resolve("state"));
      FleetHostView first =
          await("the daemon's record")
              .atMost(PATIENCE)
              .until(() -> record(client, "it-host-a"), Optional::isPresent)
              .orElseThrow();
      assertEquals(false, first.info().draining());
      assertEquals(4, first.info().capacity().maxInstances());
      assertEquals(TestDaemons.MACHINE, first.machines().get(0).name());
      assertEquals(List.of(), client.fleetInstances());

      client.drain(true);
      await("the record says draining")
          .atMost(PATIENCE)
          .until(() -> record(client, "it-host-a").map(h -> h.info().draining()).orElse(false));

      EtcdCluster.Member killed = cluster.killLeader();
      client.drain(false);
      await("the record follows after the leader " + killed.name() + " was killed")
          .atMost(PATIENCE)
          .until(() -> record(client, "it-host-a").map(h -> !h.info().draining()).orElse(false));
      // Past the lease's TTL the record is still there: the keep-alive survived the leader change.
      Thread.sleep(TTL.multipliedBy(2).toMillis());
      assertTrue(record(client, "it-host-a").isPresent(), "the record outlives its TTL");
    }
    try (Fleet reader = Fleet.connect(fleet("it-reader"))) {
      assertEquals(List.of(), HostRegistry.hosts(reader), "a stopped daemon leaves the fleet");
    }
  }

  @Test
  void aHostThatDiesWithoutLeavingVanishesWithinItsLease() {
    try (Fleet reader = Fleet.connect(fleet("it-reader"))) {
      Fleet dying = Fleet.connect(fleet("it-dying"));
      HostRegistry registry = HostRegistry.join(dying, "{\"host\":\"it-dying\"}");
      await("the record")
          .atMost(PATIENCE)
          .until(() -> HostRegistry.hosts(reader).size(), n -> n == 1);
      // Its connection goes as a killed daemon's does: no revoke, no more keep-alives.
      dying.close();
      long died = System.nanoTime();
      await("the record to vanish")
          .atMost(PATIENCE)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> HostRegistry.hosts(reader).isEmpty());
      Duration gone = Duration.ofNanos(System.nanoTime() - died);
      System.out.println(
          "fleet: a dead host's record vanished after "
              + gone.toMillis()
              + " ms (lease "
              + TTL.toSeconds()
              + " s)");
      assertTrue(gone.compareTo(TTL.plusSeconds(3)) <= 0, "gone after " + gone + ", lease " + TTL);
      registry.close();
    }
  }
}
