package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * The daemon in network mode bridge, as a real process on the real kernel, libvirtd and QEMU (TCG):
 * it makes the guest bridge, its tables and dnsmasq at start and shows the mode in {@code host}; a
 * sample VM gets its address by DHCP on its own tap, fetches its task from the bridge address's
 * port 69 (DNATed to its instance's server), reads the shared tree through it and uploads its
 * result; after {@code kill -9} a restarted daemon keeps the running guest's network and removes
 * what belongs to no instance; a clean stop with no guest left takes the network down. Every name
 * is this test's own (bridge {@code bhvm0}, tables {@code buildhost_vmit}, ports {@code bv*},
 * subnet 196.254.121.0/24), so neither a real daemon nor another test is touched.
 */
class BridgeDaemonIT {
  static final String BRIDGE = "bhvm0";
  static final String TABLE = "buildhost_vmit";
  static final String PREFIX = "bv";
  static final String HOST = "196.254.121.222";
  private static final int PORTS = 20;

  @TempDir Path scratch;
  private Path root;
  private DaemonProcess daemon;
  private final Set<String> started = new HashSet<>();

  @BeforeEach
  void setUp() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("the daemon makes a bridge, taps and nftables tables: run as root");
    }
    for (String tool : List.of("ip", "bridge", "nft", "dnsmasq")) {
      Requirement.command(tool);
    }
    Samples.revision(Samples.VM);
    Daemons.libvirt().close();
    assertNoNetworkOfThisTest();
    // dnsmasq drops root and must read its hosts file under the state folder.
    Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
    root = scratch.resolve("root");
    Files.createDirectories(root);
    Samples.linkTree(Samples.machines(), root.resolve("machines"));
    daemon = new DaemonProcess(root, flags("127.0.0.1:0"));
  }

  /** The daemon's flags for this test's own guest network, API on {@code listen}. */
  static List<String> flags(String listen) {
    int firstPort = 40000 + (int) (Math.random() * 10000);
    return List.of(
        "--listen",
        listen,
        "--tftp-listen",
        "off",
        "--tftp-ports",
        firstPort + "-" + (firstPort + PORTS - 1),
        "--max-instances",
        "4",
        "--accel",
        "tcg",
        "--poweroff-grace",
        "10s",
        "--network-mode",
        "bridge",
        "--network-bridge",
        BRIDGE,
        "--network-address",
        HOST + "/24",
        "--network-guest-range",
        "196.254.121.10-196.254.121.40",
        "--network-table",
        TABLE,
        "--network-port-prefix",
        PREFIX);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
    removeLeftovers(root, started);
  }

  /** The domains a test started and whatever a failed test left of its network, by its names. */
  static void removeLeftovers(Path root, Set<String> started) throws IOException {
    try (Closer libvirt = new Closer(Daemons.libvirt())) {
      for (String id : started) {
        destroyDomain(libvirt.connect, "buildhost-" + id);
      }
    }
    for (String link : ourPorts()) {
      run("ip", "link", "delete", link);
    }
    run("ip", "link", "delete", BRIDGE);
    run("nft", "delete", "table", "bridge", TABLE);
    run("nft", "delete", "table", "inet", TABLE);
    if (root != null) {
      Path pid = root.resolve("state/network/dnsmasq.pid");
      if (Files.exists(pid)) {
        String text = Files.readString(pid).strip();
        if (!text.isEmpty()) {
          ProcessHandle.of(Long.parseLong(text)).ifPresent(ProcessHandle::destroy);
        }
      }
    }
  }

  @Test
  void theDaemonMakesShowsAndTakesDownItsBridgeNetwork() throws Exception {
    ApiClient api = daemon.start();
    HostInfo.Network network = api.host().network();
    assertEquals("bridge", network.mode(), network.toString());
    assertEquals(BRIDGE, network.bridge());
    assertEquals(HOST, network.address());
    assertTrue(run("ip", "-br", "address", "show", "dev", BRIDGE).contains(HOST + "/24"));
    assertTrue(run("nft", "list", "table", "inet", TABLE).contains("guest_tftp_dnat"));
    assertTrue(run("nft", "list", "table", "bridge", TABLE).contains("guest_ports"));
    long dnsmasq = dnsmasqPid().orElseThrow(() -> new AssertionError("no dnsmasq: " + log()));
    assertTrue(ProcessHandle.of(dnsmasq).isPresent(), "dnsmasq " + dnsmasq + " runs");

    String hostText = cli("host");
    assertTrue(hostText.contains("network:      bridge on " + BRIDGE + " at " + HOST), hostText);

    assertEquals(0, daemon.stop());
    assertNoNetworkOfThisTest();
    assertFalse(ProcessHandle.of(dnsmasq).map(ProcessHandle::isAlive).orElse(false));
    assertTrue(log().contains("guest network " + BRIDGE + " taken down"), log());
  }

  @Test
  void aSecondDaemonGivenTheSameNetworkNamesIsRefusedAndTheFirstOnesGuestKeepsItsNetwork()
      throws Exception {
    ApiClient api = daemon.start();
    InstanceView vm = start(api, TaskManifest.of("sleep 300"));
    String tap = portName('t', vm.id());
    await(() -> run("ip", "-br", "link", "show").contains(tap), "tap " + tap);
    String guestRules = run("nft", "list", "table", "bridge", TABLE);
    assertTrue(guestRules.contains(tap), guestRules);

    Path otherRoot = Files.createDirectories(scratch.resolve("other/machines")).getParent();
    DaemonProcess other = new DaemonProcess(otherRoot, flags("127.0.0.1:0"));
    try (other) {
      assertThrows(AssertionError.class, other::start, "a second daemon on " + BRIDGE);
    }
    String refusal = other.log();
    assertTrue(
        refusal.contains(
            "the bridge name '" + BRIDGE + "' is in use by another buildhost daemon (pid "),
        refusal);
    assertTrue(refusal.contains("state folder " + root.resolve("state")), refusal);

    assertTrue(run("ip", "-br", "link", "show").contains(tap), "the first daemon's tap stays");
    assertEquals(
        withoutCounters(guestRules),
        withoutCounters(run("nft", "list", "table", "bridge", TABLE)),
        "the first daemon's guest rules stay as they were");
    assertEquals(BRIDGE, api.host().network().bridge());
    api.terminate(vm.id());
    assertEquals(0, daemon.stop());
    assertNoNetworkOfThisTest();
  }

  private static String withoutCounters(String listing) {
    return listing.replaceAll("counter packets \\d+ bytes \\d+", "counter");
  }

  @Test
  void aStopRightAfterTheLastGuestWasTerminatedStillTakesTheNetworkDown() throws Exception {
    ApiClient api = daemon.start();
    InstanceView vm = start(api, TaskManifest.of("sleep 300"));
    String tap = portName('t', vm.id());
    await(() -> run("ip", "-br", "link", "show").contains(tap), "tap " + tap);
    long dnsmasq = dnsmasqPid().orElseThrow(() -> new AssertionError("no dnsmasq: " + log()));

    // The guest is still ending (STOPPING) when SIGTERM arrives, as when a page of the manual
    // terminates its last instance and stops its daemon in the next line.
    api.terminate(vm.id());
    assertEquals(0, daemon.stop());

    assertNoNetworkOfThisTest();
    assertFalse(ProcessHandle.of(dnsmasq).map(ProcessHandle::isAlive).orElse(false), log());
    assertTrue(log().contains("guest network " + BRIDGE + " taken down"), log());
  }

  @Test
  void aSampleVmOnItsTapFetchesItsTaskReadsTheSharedTreeAndUploadsItsResult() throws Exception {
    ApiClient api = daemon.start();
    Files.writeString(root.resolve("tftp/shared-toolchain.txt"), "from the shared tree\n");
    InstanceView vm =
        start(
            api,
            TaskManifest.of(
                "ip -4 -o addr show dev eth0",
                "tftp -g -r shared-toolchain.txt -l shared.txt " + HOST + " 69",
                "cat shared.txt",
                "echo written-by-the-guest > mine.txt",
                "tftp -p -l mine.txt -r mine.txt " + HOST + " 69"));
    String tap = portName('t', vm.id());
    await(() -> run("ip", "-br", "link", "show").contains(tap), "tap " + tap);
    ResultManifest result = awaitResult(vm.id());
    assertEquals("success", result.status(), result.log());
    assertTrue(result.log().contains("196.254.121."), result.log());
    assertTrue(result.log().contains("from the shared tree"), result.log());
    Path folder = root.resolve("tftp").resolve(vm.id());
    assertEquals(
        "written-by-the-guest\n", Files.readString(folder.resolve("mine.txt")), "upload confined");
    assertFalse(
        Files.exists(root.resolve("tftp/mine.txt")), "the guest cannot write the shared tree");
    String console = console(api, vm.id());
    assertTrue(console.contains("(DHCP)"), console);
    assertTrue(console.contains("TFTP endpoint " + HOST + ":69"), console);

    awaitStopped(api, vm.id());
    await(() -> !run("ip", "-br", "link", "show").contains(tap), "tap " + tap + " removed");
    await(
        () -> !run("nft", "list", "table", "inet", TABLE).contains(vm.id()),
        "rules of " + vm.id() + " removed");
  }

  @Test
  void afterKillMinus9ARunningGuestKeepsItsNetworkAndLeftoversGo() throws Exception {
    ApiClient api = daemon.start();
    InstanceView vm = start(api, TaskManifest.of("sleep 25", "echo still-networked"));
    String tap = portName('t', vm.id());
    await(() -> run("ip", "-br", "link", "show").contains(tap), "tap " + tap);
    long dnsmasq = dnsmasqPid().orElseThrow();
    daemon.kill();

    // A port of ours that no instance owns, as a crashed launch would leave it.
    String stray = PREFIX + "t0badcafe";
    run("ip", "tuntap", "add", "dev", stray, "mode", "tap");
    assertTrue(run("ip", "-br", "link", "show").contains(stray));

    api = daemon.start();
    assertEquals("bridge", api.host().network().mode());
    assertEquals(Optional.of(dnsmasq), dnsmasqPid(), "dnsmasq adopted, not restarted");
    assertFalse(run("ip", "-br", "link", "show").contains(stray), "stray port removed");
    assertTrue(run("ip", "-br", "link", "show").contains(tap), "the live guest's tap is kept");
    assertTrue(
        run("nft", "list", "table", "inet", TABLE).contains(vm.id()),
        "the live guest's rules are kept");

    ResultManifest result = awaitResult(vm.id());
    assertEquals("success", result.status(), result.log());
    assertTrue(result.log().contains("still-networked"), result.log());
    awaitStopped(api, vm.id());
    await(() -> !run("ip", "-br", "link", "show").contains(tap), "tap " + tap + " removed");
    assertEquals(0, daemon.stop());
    assertNoNetworkOfThisTest();
  }

  // ---------------------------------------------------------------------------------------------

  private InstanceView start(ApiClient api, TaskManifest task) {
    InstanceView instance =
        api.start(
            new StartBody(
                Samples.VM,
                300L,
                Map.of(
                    TaskManifest.FILE_NAME,
                    Base64.getEncoder()
                        .encodeToString(task.text().getBytes(StandardCharsets.UTF_8)))));
    started.add(instance.id());
    return instance;
  }

  private ResultManifest awaitResult(String id) throws Exception {
    return ResultManifest.awaitIn(root.resolve("tftp").resolve(id), Duration.ofMinutes(3))
        .orElseThrow(
            () ->
                new AssertionError(
                    "no result.manifest from " + id + "; daemon log:\n" + log() + consoleFile(id)));
  }

  private String consoleFile(String id) {
    try {
      return "\nconsole:\n"
          + Files.readString(root.resolve("instances").resolve(id).resolve("console.log"));
    } catch (IOException e) {
      return "\n(no console: " + e + ")";
    }
  }

  private static String console(ApiClient api, String id) throws IOException {
    try (InputStream in = api.openConsole(id, false)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void awaitStopped(ApiClient api, String id) throws InterruptedException {
    await(() -> api.instance(id).stopped(), "instance " + id + " stopped");
  }

  private String cli(String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.buildhost.manager.cli.BuildhostCommand"));
    command.addAll(List.of(args));
    command.add("--state-dir=" + daemon.stateDir());
    return run(command.toArray(String[]::new));
  }

  private Optional<Long> dnsmasqPid() throws IOException {
    Path pid = root.resolve("state/network/dnsmasq.pid");
    if (!Files.exists(pid)) {
      return Optional.empty();
    }
    String text = Files.readString(pid).strip();
    return text.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(text));
  }

  private String log() {
    return daemon.log();
  }

  /** The port name the network layer gives an instance: prefix, kind, 8 hex of SHA-256(id). */
  static String portName(char kind, String id) {
    try {
      byte[] hash =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(id.getBytes(StandardCharsets.UTF_8));
      return PREFIX + kind + java.util.HexFormat.of().formatHex(hash, 0, 4);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static List<String> ourPorts() {
    List<String> ports = new ArrayList<>();
    for (String line : run("ip", "-br", "link", "show").lines().toList()) {
      String name = line.split("[\\s@]+")[0];
      if (name.matches(PREFIX + "[tv][0-9a-f]{8}p?")) {
        ports.add(name);
      }
    }
    return ports;
  }

  static void assertNoNetworkOfThisTest() {
    String links = run("ip", "-br", "address", "show");
    assertFalse(links.contains(BRIDGE), "bridge " + BRIDGE + " is gone:\n" + links);
    assertFalse(links.contains(HOST + "/"), HOST + " is on no interface:\n" + links);
    assertEquals(List.of(), ourPorts(), "no port of this test's prefix " + PREFIX);
    String tables = run("nft", "list", "tables");
    assertFalse(tables.contains(TABLE), "no table " + TABLE + ":\n" + tables);
  }

  @FunctionalInterface
  interface Condition {
    boolean holds() throws Exception;
  }

  static void await(Condition condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(250);
    }
    fail("not within 3 minutes: " + what + (last == null ? "" : " (last error " + last + ")"));
  }

  /** Runs a command; its standard output and error together (a failure is an answer too). */
  static String run(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(String.join(" ", command) + " did not end in 120 s");
      }
      return output;
    } catch (IOException e) {
      return fail("cannot run " + String.join(" ", command) + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted");
    }
  }

  private static void destroyDomain(Connect libvirt, String name) {
    try {
      Domain domain = libvirt.domainLookupByName(name);
      try {
        domain.destroy();
      } finally {
        domain.free();
      }
    } catch (LibvirtException e) {
      // gone already
    }
  }

  /** Closes a libvirt connection in try-with-resources. */
  private record Closer(Connect connect) implements AutoCloseable {
    @Override
    public void close() {
      try {
        connect.close();
      } catch (LibvirtException e) {
        // the connection is unusable already
      }
    }
  }
}
