package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.it.support.DaemonJar;
import dev.buildhost.it.support.DaemonStartup;
import dev.buildhost.it.support.Requirement;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
    Path log = tmp.resolve("daemon.log");
    int tftpPort;
    try (DatagramSocket free = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      tftpPort = free.getLocalPort();
    }
    try (EtcdCluster cluster = EtcdCluster.start(tmp.resolve("etcd"), 1)) {
      Path config = tmp.resolve("daemon.conf");
      Files.writeString(
          config,
          "fleet_endpoints = "
              + cluster.endpointsText()
              + "\nfleet_name = it-jar\nfleet_host = it-jar-host\nfleet_lease_ttl = 3s\n");
      Process daemon =
          new ProcessBuilder(
                  DaemonJar.daemonCommand(
                      jar,
                      start,
                      List.of(
                          "--root",
                          root.toString(),
                          "--config",
                          config.toString(),
                          "--listen",
                          "127.0.0.1:0",
                          "--tftp-listen",
                          "off",
                          "--tftp-ports",
                          tftpPort + "-" + tftpPort,
                          "--max-instances",
                          "1",
                          "--network-mode",
                          "user")))
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      try {
        DaemonStartup.awaitEndpoint(daemon, root.resolve("state"), log, PATIENCE);
        ApiClient client = ApiClient.forStateDir(root.resolve("state"));
        FleetHostView record =
            await("the daemon's record in the fleet")
                .atMost(PATIENCE)
                .until(
                    () ->
                        client.fleetHosts().stream()
                            .filter(h -> h.host().equals("it-jar-host"))
                            .findFirst(),
                    Optional::isPresent)
                .orElseThrow();
        assertEquals(1, record.info().capacity().maxInstances());
      } finally {
        daemon.destroy();
        if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
          daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      assertEquals(
          0,
          daemon.exitValue(),
          "the daemon's exit on SIGTERM; its log:\n" + Files.readString(log));
    }
  }
}
