package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetException;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.HostRegistry;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.TestPki;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.daemon.WorkerBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet over TLS against a real etcd that serves https and asks for client certificates
 * (certificates made by openssl here): a daemon given fleet_ca, fleet_cert and fleet_key, read as
 * the config's fleet_ settings are, keeps its record; a client without a certificate is refused.
 */
class FleetTlsIT {

  @TempDir Path tmp;
  private EtcdCluster cluster;

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @SuppressWarnings("try") // the daemon runs for the try block; the test talks to it over HTTP
  void aDaemonWithTheFleetsCertificateRegistersOverHttpsAndOneWithoutIsRefused() throws Exception {
    Requirement.command("etcd");
    TestPki pki = TestPki.create(tmp.resolve("pki"), "/CN=it-fleet-ca");
    pki.certificate("member", "/CN=it-etcd-member", "subjectAltName=IP:127.0.0.1");
    pki.certificate("client", "/CN=it-tls-host", "extendedKeyUsage=clientAuth");
    cluster =
        EtcdCluster.start(
            tmp.resolve("etcd"),
            1,
            new EtcdCluster.Tls(pki.ca(), pki.cert("member"), pki.key("member")));
    assertTrue(cluster.endpointsText().startsWith("https://"), cluster.endpointsText());

    FleetSettings withCertificate =
        settings(
            Map.of(
                FleetSettings.Key.CA, pki.ca().toString(),
                FleetSettings.Key.CERT, pki.cert("client").toString(),
                FleetSettings.Key.KEY, pki.key("client").toString()));
    Path root = tmp.resolve("root");
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    try (Daemon daemon =
        Daemon.start(
            TestDaemons.settings(root, 2).withFleet(withCertificate),
            config -> List.of(new WorkerBackend()),
            ApiServer.Limits.DEFAULT)) {
      ApiClient client = ApiClient.forStateDir(root.resolve("state"));
      List<FleetHostView> hosts =
          await("the daemon's record over https")
              .atMost(Duration.ofSeconds(60))
              .until(client::fleetHosts, h -> h.size() == 1);
      assertEquals("it-tls-host", hosts.get(0).host());

      FleetSettings caOnly = settings(Map.of(FleetSettings.Key.CA, pki.ca().toString()));
      try (Fleet refused = Fleet.connect(caOnly)) {
        FleetException e = assertThrows(FleetException.class, () -> HostRegistry.hosts(refused));
        assertTrue(e.getMessage().contains("etcd (" + cluster.endpointsText()), e.getMessage());
      }
    }
  }

  /** The fleet's settings as parsed from a config's fleet_ lines, TLS files as given. */
  private FleetSettings settings(Map<FleetSettings.Key, String> tls) {
    Map<FleetSettings.Key, FleetSettings.Value> given = new EnumMap<>(FleetSettings.Key.class);
    given.put(FleetSettings.Key.ENDPOINTS, value(cluster.endpointsText()));
    given.put(FleetSettings.Key.NAME, value("it-tls"));
    given.put(FleetSettings.Key.HOST, value("it-tls-host"));
    given.put(FleetSettings.Key.LEASE_TTL, value("5s"));
    tls.forEach((k, v) -> given.put(k, value(v)));
    return FleetSettings.parse(given).orElseThrow();
  }

  private static FleetSettings.Value value(String text) {
    return new FleetSettings.Value(text, "FleetTlsIT");
  }
}
