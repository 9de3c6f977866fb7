package dev.buildhost.it.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.it.support.Requirement;
import io.etcd.jetcd.kv.GetResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet's etcd fixture and connection against real members: a 3-member cluster on loopback, a
 * client of all three that goes on writing when the leader is killed, and every member's process
 * gone after {@link EtcdCluster#close}.
 */
class EtcdClusterIT {

  @TempDir Path tmp;

  @Test
  void aFleetClientGoesOnWhenTheLeaderIsKilled() throws Exception {
    Requirement.command("etcd");
    List<Long> pids;
    try (EtcdCluster cluster = EtcdCluster.start(tmp, 3);
        Fleet fleet =
            Fleet.connect(FleetSettings.of(cluster.endpoints(), "it-cluster", "it-host"))) {
      pids = cluster.members().stream().map(m -> m.pid().orElseThrow()).toList();
      fleet.await(
          fleet.client().getKVClient().put(fleet.key("probe"), Fleet.bytes("before")), "write");

      EtcdCluster.Member killed = cluster.killLeader();
      assertTrue(killed.pid().isEmpty(), "the killed leader's process has ended");
      EtcdCluster.Member next = cluster.leader();
      assertNotEquals(killed, next, "another member leads");

      fleet.await(
          fleet.client().getKVClient().put(fleet.key("probe"), Fleet.bytes("after")), "write");
      GetResponse read = fleet.await(fleet.client().getKVClient().get(fleet.key("probe")), "read");
      assertEquals("after", read.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
      assertEquals(
          "/buildhost/it-cluster/probe",
          read.getKvs().get(0).getKey().toString(StandardCharsets.UTF_8));

      cluster.restart(killed);
      assertTrue(killed.pid().isPresent(), "the killed member runs again");
    }
    for (long pid : pids) {
      assertTrue(
          ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true), "member " + pid + " ended");
    }
  }
}
