package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.it.support.DaemonJar;
import dev.buildhost.it.support.Requirement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The daemon started as the launchers start it (with {@code java -jar}, or from a class path with
 * the jar as its agent) joins a real etcd fleet, although its jar's Class-Path leaves the fleet's
 * etcd client out: it appends the jars its manifest names for the fleet when its config names one
 * (OptionalLibraries, doc/operations.md).
 */
class DaemonJarFleetIT {

  private static final Duration PATIENCE = Duration.ofSeconds(60);

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(DaemonJar.Start.class)
  void theDaemonJarLeavesTheFleetLibrariesOffItsClassPathAndAddsThemToJoinAFleet(
      DaemonJar.Start start) throws Exception {
    Requirement.command("etcd");
    Path jar = DaemonJar.path();
    List<String> classPath = DaemonJar.attribute(jar, "Class-Path");
    List<String> fleetLibraries = DaemonJar.attribute(jar, "Buildhost-Fleet-Class-Path");
    assertTrue(
        fleetLibraries.stream().anyMatch(p -> p.contains("jetcd-core")),
        "the fleet's libraries: " + fleetLibraries);
    assertFalse(
        classPath.stream().anyMatch(p -> p.contains("jetcd") || p.contains("grpc")),
        "the daemon jar's Class-Path: " + classPath);

    Path root = Files.createDirectories(tmp.resolve("root"));
    try (EtcdCluster cluster = EtcdCluster.start(tmp.resolve("etcd"), 1)) {
      Path config = tmp.resolve("daemon.conf");
      Files.writeString(
          config,
          "fleet_endpoints = "
              + cluster.endpointsText()
              + "\nfleet_name = it-jar\nfleet_host = it-jar-host\nfleet_lease_ttl = 3s\n");
      try (DaemonJar.Running daemon =
          DaemonJar.start(
              jar,
              start,
              root,
              List.of("--config", config.toString(), "--tftp-listen", "off"),
              Map.of())) {
        FleetHostView record =
            await("the daemon's record in the fleet")
                .atMost(PATIENCE)
                .until(
                    () ->
                        daemon.api().fleetHosts().stream()
                            .filter(h -> h.host().equals("it-jar-host"))
                            .findFirst(),
                    Optional::isPresent)
                .orElseThrow();
        assertEquals(1, record.info().capacity().maxInstances());
      }
    }
  }
}
