package dev.buildhost.it.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.fleet.EtcdCluster;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.it.fleet.FleetHosts.Reboot;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.ConfigLoader;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.testing.FakeSmtp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the fleet's reboots do when something fails (doc/fleet.md, "When something fails"), with two
 * hosts (a daemon and a monitor each, as in {@link RolloutIT}) on a real 3-member etcd and
 * fleet_reboot_slots = 1. The test drives the monitors' checks itself instead of their timers. A
 * host's reboot command is a script that records the reboot; nothing restarts the host afterwards.
 */
class FleetFailuresIT {

  private static final String FLEET = "it-failures";
  private static final Duration SLOT_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Each check while etcd is down waits out two requests: with the default 10 s the test took
   * minutes; 3 s still leaves a healthy cluster on a loaded machine room to answer.
   */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);

  @TempDir Path tmp;
  private EtcdCluster cluster;
  private FleetHosts.BuildIdServer buildIds;
  private final Deque<AutoCloseable> open = new ArrayDeque<>();
  private Path rebootLog;

  /** A host: its daemon and its started monitor. */
  record Host(String name, Path root, Daemon daemon, Monitor monitor) {
    ApiClient api() {
      return ApiClient.forStateDir(root.resolve("state"));
    }
  }

  record Check(String host, Instant at, Monitor.CheckResult result) {
    @Override
    public String toString() {
      return host + " " + result.status();
    }
  }

  @BeforeEach
  void startCluster() throws Exception {
    Requirement.command("etcd");
    cluster = EtcdCluster.start(tmp.resolve("etcd"), 3);
    buildIds = new FleetHosts.BuildIdServer();
    rebootLog = Files.createFile(tmp.resolve("reboots.log"));
  }

  @AfterEach
  void stop() throws Exception {
    while (!open.isEmpty()) {
      open.pop().close();
    }
    if (buildIds != null) {
      buildIds.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aHostThatDiesHoldingItsSlotHasItFreedAfterTheSlotTimeoutWithAWarningAndAMail()
      throws Exception {
    FakeSmtp smtp = new FakeSmtp();
    open.push(smtp);
    Host dying = startHost("dead-a", Map.of());
    Host next =
        startHost(
            "dead-b",
            Map.of(Setting.SMTP_RELAY, smtp.relay(), Setting.ADMIN_EMAIL, "admin@example.org"));

    Instant published = Instant.now();
    buildIds.publish("buildos-2");
    Instant dyingChecked = Instant.now();
    assertEquals(Monitor.Status.REBOOTING, dying.monitor().check().status());
    // The host dies after its reboot command and never comes back: its slot stays in etcd.
    for (AutoCloseable pair : List.of(dying.monitor(), dying.daemon())) {
      open.remove(pair);
      pair.close();
    }

    List<Check> checks = new ArrayList<>();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream stderr = System.err;
    System.setErr(new PrintStream(new Tee(stderr, log), true, StandardCharsets.UTF_8));
    try {
      await("dead-b rebooting once dead-a's slot is freed")
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                Monitor.CheckResult r = next.monitor().check();
                checks.add(new Check(next.name(), Instant.now(), r));
                return r.status() == Monitor.Status.REBOOTING;
              });
    } finally {
      System.setErr(stderr);
    }

    List<Reboot> reboots = FleetHosts.reboots(rebootLog);
    assertEquals(List.of("dead-a", "dead-b"), reboots.stream().map(Reboot::host).toList());
    Check first = checks.get(0);
    assertEquals(Monitor.Status.UNKNOWN, first.result().status(), "dead-b's first check");
    assertTrue(
        first.result().message().contains("waiting for a reboot slot"), first.result().message());
    Check freeing = checks.get(checks.size() - 1);
    assertFalse(
        freeing.at().isBefore(dyingChecked.plus(SLOT_TIMEOUT)),
        "dead-b got the slot at "
            + freeing.at()
            + ", before dead-a's slot timed out (its check began at "
            + dyingChecked
            + ")");
    String warning = "reboot slot of host dead-a freed: it took it at ";
    String logged = log.toString(StandardCharsets.UTF_8);
    assertTrue(
        logged.contains(warning)
            && logged.contains(
                "has not come back within fleet_slot_timeout ("
                    + SLOT_TIMEOUT.toMillis()
                    + " ms); look at that host"),
        "dead-b's log while it checked:\n" + logged);
    List<String> mail = smtp.received();
    assertTrue(
        mail.stream()
            .anyMatch(l -> l.startsWith("Subject: ") && l.contains("reboot slot of dead-a freed")),
        "mail: " + mail);
    assertTrue(mail.stream().anyMatch(l -> l.contains(warning)), "mail: " + mail);

    StringBuilder timeline =
        new StringBuilder("a host dies holding its slot (build id published at 0 ms, ")
            .append("fleet_slot_timeout ")
            .append(SLOT_TIMEOUT.toMillis())
            .append(" ms):");
    for (Reboot r : reboots) {
      timeline
          .append("\n  ")
          .append(r.host())
          .append(": reboot command at ")
          .append(Duration.between(published, r.at()).toMillis())
          .append(" ms");
    }
    timeline
        .append("\n  dead-b's checks: ")
        .append(checks.size())
        .append(", the first at ")
        .append(Duration.between(published, first.at()).toMillis())
        .append(" ms: ")
        .append(first.result().status())
        .append(" (waiting), the last at ")
        .append(Duration.between(published, freeing.at()).toMillis())
        .append(" ms: ")
        .append(freeing.result().status());
    logged
        .lines()
        .filter(l -> l.contains(warning))
        .findFirst()
        .ifPresent(l -> timeline.append("\n  logged: ").append(l));
    System.out.println(timeline);
  }

  @Test
  void withEtcdDownNoHostRebootsAndOnceItIsBackTheRolloutGoesOn() throws Exception {
    // down-a never comes back from its reboot: its slot must outlast down-b's reconnection.
    Map<Setting, String> slotKept = Map.of(Setting.FLEET_SLOT_TIMEOUT, "10m");
    Host a = startHost("down-a", slotKept);
    Host b = startHost("down-b", slotKept);

    Instant stopped = Instant.now();
    for (EtcdCluster.Member m : cluster.members()) {
      cluster.stop(m);
    }
    Instant published = Instant.now();
    buildIds.publish("buildos-2");
    List<Check> checks = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      for (Host h : List.of(a, b)) {
        Monitor.CheckResult r = h.monitor().check();
        checks.add(new Check(h.name(), Instant.now(), r));
        assertEquals(Monitor.Status.UNKNOWN, r.status(), h.name() + ": " + r.message());
        assertTrue(
            r.message().contains("the fleet's reboot slots are unknown"),
            h.name() + ": " + r.message());
      }
    }
    assertEquals(List.of(), FleetHosts.reboots(rebootLog), "reboots while etcd was down");
    assertFalse(a.api().host().draining(), "down-a drained while etcd was down");
    assertFalse(b.api().host().draining(), "down-b drained while etcd was down");

    // All members at once: none is healthy before a majority runs.
    ExecutorService starting = Executors.newFixedThreadPool(cluster.members().size());
    try {
      List<Future<?>> started = new ArrayList<>();
      for (EtcdCluster.Member m : cluster.members()) {
        started.add(
            starting.submit(
                () -> {
                  cluster.restart(m);
                  return null;
                }));
      }
      for (Future<?> f : started) {
        f.get();
      }
    } finally {
      starting.shutdownNow();
    }
    Instant back = Instant.now();

    await("down-a rebooting once etcd is back")
        .atMost(Duration.ofMinutes(4))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              Monitor.CheckResult r = a.monitor().check();
              checks.add(new Check(a.name(), Instant.now(), r));
              return r.status() == Monitor.Status.REBOOTING;
            });
    // down-b's client may still be reconnecting: its checks stay "slots unknown" until it is.
    Monitor.CheckResult waiting =
        await("down-b waiting for the slot down-a holds")
            .atMost(Duration.ofMinutes(2))
            .pollInterval(Duration.ofMillis(500))
            .until(
                () -> {
                  Monitor.CheckResult r = b.monitor().check();
                  checks.add(new Check(b.name(), Instant.now(), r));
                  return r;
                },
                r -> !r.message().contains("the fleet's reboot slots are unknown"));
    assertEquals(Monitor.Status.UNKNOWN, waiting.status(), waiting.message());
    assertTrue(
        waiting.message().contains("waiting for a reboot slot")
            && waiting.message().contains("held by down-a"),
        waiting.message());
    List<Reboot> reboots = FleetHosts.reboots(rebootLog);
    assertEquals(List.of("down-a"), reboots.stream().map(Reboot::host).toList());

    StringBuilder timeline =
        new StringBuilder("etcd down (all 3 members stopped at ")
            .append(Duration.between(published, stopped).toMillis())
            .append(" ms, build id published at 0 ms, members healthy again at ")
            .append(Duration.between(published, back).toMillis())
            .append(" ms):");
    for (Check c : checks) {
      timeline
          .append("\n  ")
          .append(Duration.between(published, c.at()).toMillis())
          .append(" ms ")
          .append(c);
    }
    for (Reboot r : reboots) {
      timeline
          .append("\n  ")
          .append(r.host())
          .append(": reboot command at ")
          .append(Duration.between(published, r.at()).toMillis())
          .append(" ms");
    }
    timeline.append("\n  down-b then: ").append(waiting.message());
    System.out.println(timeline);
  }

  private Host startHost(String name, Map<Setting, String> more) throws Exception {
    Path root = tmp.resolve(name);
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    Path bootIdFile = tmp.resolve(name + ".boot_id");
    Files.writeString(bootIdFile, name + "-boot-1\n");
    Path script = FleetHosts.rebootScript(tmp, name, rebootLog, null);
    FleetSettings fleet =
        FleetHosts.fleet(cluster, FLEET, name).withRequestTimeout(REQUEST_TIMEOUT);
    Daemon daemon = FleetHosts.startDaemon(root, fleet);
    open.push(daemon);
    Map<Setting, String> flags = FleetHosts.monitorFlags(root, script, buildIds, cluster, fleet);
    flags.put(Setting.FLEET_SLOT_TIMEOUT, SLOT_TIMEOUT.toSeconds() + "s");
    flags.put(Setting.FLEET_REQUEST_TIMEOUT, REQUEST_TIMEOUT.toSeconds() + "s");
    flags.putAll(more);
    Monitor monitor =
        new Monitor(
            MonitorConfig.resolve(List.of(ConfigLoader.flags(flags))),
            Clock.systemUTC(),
            bootIdFile,
            new ProgressListener() {});
    open.push(monitor);
    monitor.start();
    assertTrue(monitor.prepare(), name + "'s monitor prepared");
    assertEquals("buildos-1", monitor.buildIdBaseline(), name + "'s baseline");
    return new Host(name, root, daemon, monitor);
  }

  /** What the monitor logs (slf4j-simple writes to the System.err of the moment) and a copy. */
  private static final class Tee extends OutputStream {
    private final OutputStream first;
    private final OutputStream second;

    Tee(OutputStream first, OutputStream second) {
      this.first = first;
      this.second = second;
    }

    @Override
    public void write(int b) throws IOException {
      first.write(b);
      synchronized (second) {
        second.write(b);
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      first.write(b, off, len);
      synchronized (second) {
        second.write(b, off, len);
      }
    }
  }
}
