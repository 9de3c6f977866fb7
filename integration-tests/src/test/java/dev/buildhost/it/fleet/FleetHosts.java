package dev.buildhost.it.fleet;

import com.sun.net.httpserver.HttpServer;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.manager.daemon.WorkerBackend;
import dev.buildhost.monitor.config.Setting;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the fleet's rollout tests share to stand in for build hosts on one machine: a host is a
 * daemon (over {@link WorkerBackend}) and a monitor on a root of its own, in a fleet on a real
 * etcd; the OS build id comes from an HTTP server the test changes; a host's reboot command is a
 * script that appends the host's name and the time to a reboot log.
 */
final class FleetHosts {
  private FleetHosts() {}

  /** The OS build id served over HTTP, as the netboot server serves {@code buildos-buildid}. */
  static final class BuildIdServer implements AutoCloseable {
    private final AtomicReference<String> buildId = new AtomicReference<>("buildos-1\n");
    private final HttpServer server;

    BuildIdServer() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext(
          "/buildos-buildid",
          ex -> {
            byte[] bytes = buildId.get().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(bytes);
            }
          });
      server.start();
    }

    /** Publishes a new build id: every monitor's next check sees it. */
    void publish(String id) {
      buildId.set(id + "\n");
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/buildos-buildid";
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** A reboot command that ran: which host, when. */
  record Reboot(String host, Instant at) {}

  /** The reboots in the log, oldest first. */
  static List<Reboot> reboots(Path log) throws IOException {
    return Files.readAllLines(log).stream()
        .map(l -> l.split(" "))
        .map(p -> new Reboot(p[0], Instant.ofEpochMilli(Long.parseLong(p[1]))))
        .sorted(Comparator.comparing(Reboot::at))
        .toList();
  }

  /**
   * Writes {@code <dir>/<host>-reboot.sh}, which logs the reboot to {@code rebootLog} and, when
   * {@code bootIdFile} is given, writes the host's next boot id there, as a real reboot would.
   */
  static Path rebootScript(Path dir, String host, Path rebootLog, Path bootIdFile)
      throws IOException {
    StringBuilder script =
        new StringBuilder("#!/bin/sh\n")
            .append("printf '%s %s\\n' ")
            .append(host)
            .append(" \"$(date +%s%3N)\" >> '")
            .append(rebootLog)
            .append("'\n");
    if (bootIdFile != null) {
      script
          .append("printf '%s-boot-%s\\n' ")
          .append(host)
          .append(" \"$(date +%s%N)\" > '")
          .append(bootIdFile)
          .append("'\n");
    }
    Path file = dir.resolve(host + "-reboot.sh");
    Files.writeString(file, script);
    return file;
  }

  /** The fleet settings of {@code host}, with a short lease so a dead host's record goes soon. */
  static FleetSettings fleet(EtcdCluster cluster, String fleet, String host) {
    return FleetSettings.of(cluster.endpoints(), fleet, host).withLeaseTtl(Duration.ofSeconds(5));
  }

  /** The daemon of a host whose root already holds the {@link TestDaemons#MACHINE}. */
  static Daemon startDaemon(Path root, FleetSettings fleet) throws IOException {
    return Daemon.start(
        TestDaemons.settings(root, 2).withFleet(fleet),
        config -> List.of(new WorkerBackend()),
        ApiServer.Limits.DEFAULT);
  }

  /**
   * The monitor settings of a host in a fleet with one reboot slot: no agent, a drain of at most a
   * minute, {@code script} as the reboot command.
   */
  static Map<Setting, String> monitorFlags(
      Path root, Path script, BuildIdServer buildIds, EtcdCluster cluster, FleetSettings fleet) {
    Map<Setting, String> flags = new EnumMap<>(Setting.class);
    flags.put(Setting.ROOT, root.toString());
    flags.put(Setting.STATE_DIR, root.resolve("state").toString());
    flags.put(Setting.BUILDID_URL, buildIds.url());
    flags.put(Setting.REBOOT_COMMAND, "sh " + script);
    flags.put(Setting.DRAIN_TIMEOUT, "1m");
    flags.put(Setting.DRAIN_POLL, "200ms");
    flags.put(Setting.AGENT_MODE, "none");
    flags.put(Setting.FLEET_ENDPOINTS, cluster.endpointsText());
    flags.put(Setting.FLEET_NAME, fleet.name());
    flags.put(Setting.FLEET_HOST, fleet.host());
    flags.put(Setting.FLEET_REBOOT_SLOTS, "1");
    return flags;
  }
}
