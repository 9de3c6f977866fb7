package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.fleet.HostRegistry;
import dev.buildhost.fleet.reboot.RebootSemaphore;
import dev.buildhost.it.fleet.FleetHosts.Reboot;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.ProgressListener;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling reboot of a fleet of three hosts, each a daemon and a monitor of its own (own state
 * folder, API port and fleet_host) on a real 3-member etcd, with fleet_reboot_slots = 1: a new OS
 * build id makes all three want to reboot, and they reboot one at a time, also when the etcd leader
 * is killed after the first reboot.
 *
 * <p>A host's reboot command is a script that records the reboot and writes the host's next boot id
 * into the file its monitor reads the boot id from; the host then "comes back": its daemon and
 * monitor are started again (the monitor reading the new boot id), and the monitor gives the slot
 * back once its daemon answers, as after a real reboot. Right after the reboot command, before the
 * pair stops, the test reads the host's daemon ({@code GET /v1/host}): every reboot must find its
 * host drained with no instance left. One host runs a long instance ("command: sleep") when the
 * build id changes: its reboot waits until the test ends that instance, once it saw the host
 * draining.
 */
class RolloutIT {

  private static final String FLEET = "it-rollout";

  /** The host that runs a long instance when the new build id is published. */
  private static final String BUSY = "roll-b";

  private static final List<String> HOSTS = List.of("roll-a", "roll-b", "roll-c");
  private static final Duration ROLLOUT = Duration.ofMinutes(4);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private EtcdCluster cluster;
  private FleetHosts.BuildIdServer buildIds;
  private final ExecutorService hosts = Executors.newFixedThreadPool(HOSTS.size() + 1);
  private final Map<String, Instant> back = new ConcurrentHashMap<>();

  /**
   * When each rebooted host was last seen still holding its slot: a time before it gave the slot
   * back (a poll that saw it free comes up to a poll interval after that, so it cannot order two
   * hosts).
   */
  private final Map<String, Instant> lastSeenHolding = new ConcurrentHashMap<>();

  private final Map<String, AtReboot> atReboot = new ConcurrentHashMap<>();

  /** What a host's daemon said right after its reboot command ran. */
  record AtReboot(boolean draining, int activeInstances) {}

  @AfterEach
  void stop() throws Exception {
    hosts.shutdownNow();
    assertTrue(hosts.awaitTermination(2, TimeUnit.MINUTES), "the hosts' threads ended");
    if (buildIds != null) {
      buildIds.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aNewBuildIdRebootsEveryHostOneAtATimeThroughALeaderKill() throws Exception {
    Requirement.command("etcd");
    cluster = EtcdCluster.start(tmp.resolve("etcd"), 3);
    buildIds = new FleetHosts.BuildIdServer();
    Path rebootLog = tmp.resolve("reboots.log");
    Files.createFile(rebootLog);

    List<Future<?>> running = new ArrayList<>();
    for (String host : HOSTS) {
      running.add(hosts.submit(() -> runHost(host, rebootLog)));
    }
    // Every host's monitor has its baseline and its daemon its record before the change.
    try (Fleet reader = Fleet.connect(fleet("it-reader"))) {
      await("every host's record")
          .atMost(Duration.ofMinutes(2))
          .until(() -> HostRegistry.hosts(reader).size() == HOSTS.size());
      await("every monitor's baseline")
          .atMost(Duration.ofMinutes(2))
          .until(() -> HOSTS.stream().allMatch(h -> Files.exists(monitorState(h))));
      ApiClient busy = ApiClient.forStateDir(tmp.resolve(BUSY).resolve("state"));
      String longTask =
          busy.start(
                  new StartBody(
                      TestDaemons.MACHINE,
                      null,
                      Map.of(
                          "task.manifest",
                          Base64.getEncoder()
                              .encodeToString(
                                  "command: sleep\n".getBytes(StandardCharsets.UTF_8)))))
              .id();

      Instant published = Instant.now();
      buildIds.publish("buildos-2");
      // BUSY drains with its instance running and does not reboot until the instance ends.
      Future<Instant> longTaskEnded =
          hosts.submit(
              () -> {
                await(BUSY + " draining with its long instance running")
                    .atMost(ROLLOUT)
                    .pollInterval(Duration.ofMillis(100))
                    .until(
                        () ->
                            busy.host().draining()
                                && busy.instance(longTask).state() == InstanceView.State.RUNNING);
                assertTrue(
                    Files.readAllLines(rebootLog).stream().noneMatch(l -> l.startsWith(BUSY + " ")),
                    BUSY + " rebooted with its instance running");
                Instant ended = Instant.now();
                busy.terminate(longTask);
                return ended;
              });
      await("the first reboot")
          .atMost(ROLLOUT)
          .until(() -> Files.readAllLines(rebootLog).size() >= 1);
      EtcdCluster.Member killed = cluster.killLeader();
      Instant leaderKilled = Instant.now();
      await("every host rebooted and back with its slot given back")
          .atMost(ROLLOUT)
          .failFast("a host's thread failed", () -> running.stream().anyMatch(f -> f.isDone()))
          .until(
              () ->
                  Files.readAllLines(rebootLog).size() == HOSTS.size()
                      && back.size() == HOSTS.size()
                      && slotHolders(reader).isEmpty());

      List<Reboot> reboots = FleetHosts.reboots(rebootLog);
      assertEquals(
          HOSTS.stream().sorted().toList(),
          reboots.stream().map(Reboot::host).sorted().toList(),
          "each host rebooted once: " + reboots);
      // No two at once by the recorded times: a host's reboot command ran only after the host
      // before it was last seen holding the slot.
      for (int i = 1; i < reboots.size(); i++) {
        Reboot before = reboots.get(i - 1);
        assertTrue(
            lastSeenHolding.get(before.host()).isBefore(reboots.get(i).at()),
            reboots.get(i)
                + " rebooted while "
                + before.host()
                + " still held the slot, at "
                + lastSeenHolding);
      }
      // Each reboot after its drain: the daemon draining, no instance left.
      assertEquals(
          HOSTS.stream().collect(Collectors.toMap(h -> h, h -> new AtReboot(true, 0))),
          Map.copyOf(atReboot),
          "each host's daemon right after its reboot command");
      Instant ended = longTaskEnded.get();
      Reboot busyReboot = reboots.stream().filter(r -> r.host().equals(BUSY)).findFirst().get();
      assertTrue(
          busyReboot.at().isAfter(ended),
          BUSY
              + " rebooted at "
              + busyReboot.at()
              + ", before its long instance ended at "
              + ended);
      // No two at once by etcd: no version of the slots' key ever held two hosts.
      List<List<String>> history = slotHistory(reader);
      assertTrue(history.stream().allMatch(h -> h.size() <= 1), "slot key history: " + history);
      assertEquals(
          reboots.stream().map(Reboot::host).toList(),
          history.stream().filter(h -> !h.isEmpty()).map(h -> h.get(0)).distinct().toList(),
          "the slot went to the hosts in their reboot order: " + history);

      StringBuilder timeline = new StringBuilder("rollout (build id published at 0 ms, leader ");
      timeline
          .append(killed.name())
          .append(" killed at ")
          .append(Duration.between(published, leaderKilled).toMillis())
          .append(" ms):");
      for (Reboot r : reboots) {
        timeline
            .append("\n  ")
            .append(r.host())
            .append(": reboot command at ")
            .append(Duration.between(published, r.at()).toMillis())
            .append(" ms, back with the slot given back by ")
            .append(Duration.between(published, back.get(r.host())).toMillis())
            .append(" ms");
      }
      timeline
          .append("\n  ")
          .append(BUSY)
          .append("'s long instance ended by the test at ")
          .append(Duration.between(published, ended).toMillis())
          .append(" ms, once it saw ")
          .append(BUSY)
          .append(" draining");
      timeline
          .append("\n  daemons right after their reboot command: ")
          .append(new TreeMap<>(atReboot));
      timeline.append("\n  versions of the slots' key (holders): ").append(history);
      System.out.println(timeline);
    }
  }

  /** A host: its daemon and monitor, started again after each reboot, until interrupted. */
  private Void runHost(String host, Path rebootLog) throws Exception {
    Path root = tmp.resolve(host);
    Path bootIdFile = tmp.resolve(host + ".boot_id");
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    Files.writeString(bootIdFile, host + "-boot-1\n");
    Path script = FleetHosts.rebootScript(tmp, host, rebootLog, bootIdFile);
    boolean rebooted = false;
    while (!Thread.currentThread().isInterrupted()) {
      Daemon daemon = FleetHosts.startDaemon(root, fleet(host));
      if (rebooted) {
        // A rebooted host's daemon starts undrained (its drain flag names the last boot).
        ApiClient.forStateDir(root.resolve("state")).drain(false);
      }
      Monitor monitor =
          new Monitor(
              monitorConfig(host, root, script),
              Clock.systemUTC(),
              bootIdFile,
              new ProgressListener() {});
      try {
        if (rebooted) {
          watchSlotGivenBack(host);
        }
        monitor.run(false); // returns once its reboot command ran
        rebooted = true;
        HostInfo info = ApiClient.forStateDir(root.resolve("state")).host();
        atReboot.putIfAbsent(host, new AtReboot(info.draining(), info.capacity().active()));
      } finally {
        monitor.close();
        daemon.close();
      }
    }
    return null;
  }

  private void watchSlotGivenBack(String host) {
    // The host holds its slot from before its reboot until its monitor, started after this, gives
    // it back.
    lastSeenHolding.put(host, Instant.now());
    Thread watcher =
        new Thread(
            () -> {
              try (Fleet f = Fleet.connect(fleet("it-watch-" + host));
                  RebootSemaphore s = new RebootSemaphore(f, Clock.systemUTC())) {
                await(host + " giving its slot back")
                    .atMost(ROLLOUT)
                    .pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions()
                    .until(
                        () -> {
                          Instant asked = Instant.now();
                          boolean holding =
                              s.read().holders().stream().anyMatch(h -> h.host().equals(host));
                          if (holding) {
                            lastSeenHolding.put(host, asked);
                          }
                          return !holding;
                        });
                back.put(host, Instant.now());
              }
            },
            "watch-" + host);
    watcher.setDaemon(true);
    watcher.start();
  }

  private MonitorConfig monitorConfig(String host, Path root, Path script) throws Exception {
    Map<Setting, String> flags =
        FleetHosts.monitorFlags(root, script, buildIds, cluster, fleet(host));
    flags.put(Setting.INTERVAL, "1s");
    return MonitorConfig.resolve(List.of(ConfigLoader.flags(flags)));
  }

  private FleetSettings fleet(String host) {
    return FleetHosts.fleet(cluster, FLEET, host);
  }

  private Path monitorState(String host) {
    return tmp.resolve(host).resolve("state").resolve("monitor").resolve("state.json");
  }

  private static List<String> slotHolders(Fleet reader) {
    try (RebootSemaphore s = new RebootSemaphore(reader, Clock.systemUTC())) {
      return s.read().holders().stream().map(h -> h.host()).toList();
    }
  }

  /** Every version the slots' key had, oldest first, as the hosts it held. */
  private static List<List<String>> slotHistory(Fleet reader) throws IOException {
    String key = "/buildhost/" + FLEET + "/reboots/slots";
    long now =
        reader
            .await(reader.client().getKVClient().get(Fleet.bytes(key)), "read the slots")
            .getHeader()
            .getRevision();
    List<List<String>> versions = new ArrayList<>();
    long seen = -1;
    for (long rev = 1; rev <= now; rev++) {
      List<KeyValue> kvs =
          reader
              .await(
                  reader
                      .client()
                      .getKVClient()
                      .get(Fleet.bytes(key), GetOption.builder().withRevision(rev).build()),
                  "read the slots at revision " + rev)
              .getKvs();
      long mod = kvs.isEmpty() ? 0 : kvs.get(0).getModRevision();
      if (kvs.isEmpty() ? seen == 0 : mod == seen) {
        continue;
      }
      seen = mod;
      List<String> holders = new ArrayList<>();
      if (!kvs.isEmpty()) {
        JsonNode value = JSON.readTree(kvs.get(0).getValue().getBytes());
        value.path("holders").forEach(h -> holders.add(h.path("host").asText()));
      }
      versions.add(holders);
    }
    return versions;
  }
}
