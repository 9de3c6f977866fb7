package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.docker.DockerBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile task in a sample container started through a real daemon on a guest bridge of the
 * test's own (bridge {@code bhct0}, tables {@code buildhost_ct}, ports {@code nc*}, subnet
 * 196.254.113.0/24, so that it never meets another test's or the demo's network), next to a second
 * running container instance (the victim, listening on TCP port 8080). It tries what a build must
 * not do and must fail at each; it shows that its own TFTP at the host address, port 69, works both
 * ways and that the daemon's DNS answers the host's name but no outside name. Each attempt and its
 * outcome is printed as {@code ATTEMPT name: works|fails (exit N) ...}. The daemon's API (and so
 * {@code /metrics}) listens on the bridge's own address, so only the firewall stands between the
 * guest and it, as in {@link HostileGuestIT} for VMs.
 */
class HostileContainerIT {
  static final String BRIDGE = "bhct0";
  static final String TABLE = "buildhost_ct";
  static final String PREFIX = "nc";
  static final String HOST = "196.254.113.222";

  @TempDir Path scratch;
  private Path root;
  private DaemonProcess daemon;
  private DockerClient docker;
  private ServerSocket listener;
  private final AtomicInteger accepted = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("the daemon makes a bridge, veths and nftables tables: run as root");
    }
    for (String tool : List.of("ip", "bridge", "nft", "dnsmasq", "nsenter")) {
      Requirement.command(tool);
    }
    Samples.revision(Samples.CONTAINER);
    docker = Daemons.docker();
    Daemons.libvirt().close();
    assertNoNetworkOfThisTest();
    // dnsmasq drops root and must read its hosts file under the state folder.
    Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
    root = scratch.resolve("root");
    Files.createDirectories(root);
    Samples.linkTree(Samples.machines(), root.resolve("machines"));
    daemon = new DaemonProcess(root, flags(HOST + ":0"));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (listener != null) {
      listener.close();
    }
    if (daemon != null) {
      daemon.close();
    }
    if (docker != null) {
      removeContainers();
      docker.close();
    }
    for (String link : ourPorts()) {
      BridgeDaemonIT.run("ip", "link", "delete", link);
    }
    BridgeDaemonIT.run("ip", "link", "delete", BRIDGE);
    BridgeDaemonIT.run("nft", "delete", "table", "bridge", TABLE);
    BridgeDaemonIT.run("nft", "delete", "table", "inet", TABLE);
    if (root != null) {
      Path pid = root.resolve("state/network/dnsmasq.pid");
      if (Files.exists(pid) && !Files.readString(pid).isBlank()) {
        ProcessHandle.of(Long.parseLong(Files.readString(pid).strip()))
            .ifPresent(ProcessHandle::destroy);
      }
    }
  }

  @Test
  void aHostileTaskReachesOnlyItsOwnTftpServer() throws Exception {
    ApiClient api = daemon.start();
    int apiPort = api.base().getPort();
    assertEquals(HOST, api.base().getHost(), "the API listens on the bridge address");
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
    Thread acceptor = new Thread(this::acceptAll, "hostile-container-it-listener");
    acceptor.setDaemon(true);
    acceptor.start();

    InstanceView victim =
        start(api, TaskManifest.of("while :; do echo victim-listens | nc -l -p 8080; done"));
    Path victimFolder = root.resolve("tftp").resolve(victim.id());
    Files.writeString(victimFolder.resolve("secret.txt"), "the victim's secret\n");
    String victimAddress = awaitAddress(victim.id());
    BridgeDaemonIT.await(
        () -> read(victimAddress, 8080).contains("victim-listens"),
        "the victim container listens on " + victimAddress + ":8080");

    String otherHostAddress = otherHostAddress();
    List<String> attempts =
        List.of(
            attempt("own-tftp-read", "tftp -g -l /tmp/t -r task.manifest " + HOST + " 69"),
            attempt(
                "own-tftp-write",
                "echo written-by-the-guest > /tmp/w && tftp -p -l /tmp/w -r own.txt "
                    + HOST
                    + " 69"),
            attempt(
                "other-tftp-read",
                "timeout 8 tftp -g -l /tmp/s -r secret.txt " + HOST + " " + victim.tftpPort()),
            attempt(
                "other-tftp-write",
                "timeout 8 tftp -p -l /tmp/w -r forged.txt " + HOST + " " + victim.tftpPort()),
            attempt(
                "other-folder-through-69",
                "timeout 8 tftp -g -l /tmp/s2 -r " + victim.id() + "/secret.txt " + HOST + " 69"),
            attempt("api-at-host-address", "nc -w 3 " + HOST + " " + apiPort + " </dev/null"),
            // works only if the metrics come back; nc says why not
            attempt(
                "metrics-at-host-address",
                "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "
                    + HOST
                    + " "
                    + apiPort
                    + " | grep -m 1 buildhost_"),
            attempt("api-at-127.0.0.1", "nc -w 3 127.0.0.1 " + apiPort + " </dev/null"),
            attempt(
                "api-at-" + otherHostAddress,
                "nc -w 3 " + otherHostAddress + " " + apiPort + " </dev/null"),
            attempt(
                "host-port-a-test-listens-on",
                "nc -w 3 " + HOST + " " + listener.getLocalPort() + " </dev/null"),
            attempt(
                "other-guest-" + victimAddress,
                "nc -w 3 " + victimAddress + " 8080 </dev/null | grep victim-listens"),
            // busybox nslookup also asks for AAAA, which dnsmasq refuses: look for the A answer
            attempt(
                "dns-host-name",
                "nslookup " + hostName() + " " + HOST + " | grep 'Address: " + HOST + "$'"),
            attempt("dns-outside-name", "nslookup example.org " + HOST),
            attempt("spoof-source-address", "ip address add " + victimAddress + "/32 dev eth0"),
            attempt("spoof-mac", "ip link set dev eth0 address 02:00:00:00:00:99"),
            attempt("raw-socket-ping", "ping -c 1 -W 2 " + HOST),
            attempt("packet-socket-arping", "arping -c 1 -w 2 -I eth0 " + HOST));
    InstanceView hostile = start(api, TaskManifest.of(attempts.toArray(String[]::new)));
    Path hostileFolder = root.resolve("tftp").resolve(hostile.id());

    ResultManifest result =
        ResultManifest.awaitIn(hostileFolder, Duration.ofMinutes(5))
            .orElseThrow(() -> new AssertionError("no result from the hostile task"));
    List<String> outcomes =
        result.logLines().stream().filter(line -> line.startsWith("ATTEMPT ")).toList();
    System.out.println(
        "hostile task in a container through the daemon on bridge "
            + BRIDGE
            + " (guest "
            + awaitAddress(hostile.id())
            + "), each attempt and its outcome:\n  "
            + String.join("\n  ", outcomes));

    assertOutcome(outcomes, "own-tftp-read", "works");
    assertOutcome(outcomes, "own-tftp-write", "works");
    assertOutcome(outcomes, "dns-host-name", "works");
    assertEquals("written-by-the-guest\n", Files.readString(hostileFolder.resolve("own.txt")));
    for (String blocked :
        List.of(
            "other-tftp-read",
            "other-tftp-write",
            "other-folder-through-69",
            "api-at-host-address",
            "metrics-at-host-address",
            "api-at-127.0.0.1",
            "api-at-" + otherHostAddress,
            "host-port-a-test-listens-on",
            "dns-outside-name",
            "other-guest-" + victimAddress,
            "spoof-source-address",
            "spoof-mac",
            "raw-socket-ping",
            "packet-socket-arping")) {
      assertOutcome(outcomes, blocked, "fails");
    }
    // Dropped by the firewall, not failed some other way: the connection attempt ran out of time.
    for (String dropped :
        List.of(
            "api-at-host-address",
            "metrics-at-host-address",
            "api-at-" + otherHostAddress,
            "host-port-a-test-listens-on")) {
      String outcome = assertOutcome(outcomes, dropped, "fails");
      assertTrue(outcome.contains("nc: timed out"), outcome);
    }
    assertFalse(Files.exists(victimFolder.resolve("forged.txt")), "forged into the victim");
    assertEquals(0, accepted.get(), "connections from the guest that reached the test's port");

    api.terminate(victim.id());
    BridgeDaemonIT.await(
        () -> containersOf(victim.id()).isEmpty() && containersOf(hostile.id()).isEmpty(),
        "both instances' containers are gone");
    BridgeDaemonIT.await(() -> ourPorts().isEmpty(), "both instances' veths are gone");
  }

  /** The daemon's flags for this test's own guest network, API on {@code listen}. */
  private static List<String> flags(String listen) {
    int firstPort = 40000 + (int) (Math.random() * 10000);
    return List.of(
        "--listen",
        listen,
        "--tftp-listen",
        "off",
        "--tftp-ports",
        firstPort + "-" + (firstPort + 19),
        "--max-instances",
        "4",
        "--poweroff-grace",
        "10s",
        "--network-mode",
        "bridge",
        "--network-bridge",
        BRIDGE,
        "--network-address",
        HOST + "/24",
        "--network-guest-range",
        "196.254.113.10-196.254.113.40",
        "--network-table",
        TABLE,
        "--network-port-prefix",
        PREFIX);
  }

  private InstanceView start(ApiClient api, TaskManifest task) {
    return api.start(
        new StartBody(
            Samples.CONTAINER,
            600L,
            Map.of(
                TaskManifest.FILE_NAME,
                Base64.getEncoder().encodeToString(task.text().getBytes(StandardCharsets.UTF_8)))));
  }

  /** A task command: runs {@code command}, prints {@code ATTEMPT name: works|fails (exit N)}. */
  private static String attempt(String name, String command) {
    return "( "
        + command
        + " ) >/tmp/out 2>&1; code=$?; if [ $code -eq 0 ]; then r=works; else r=fails; fi;"
        + " echo \"ATTEMPT "
        + name
        + ": $r (exit $code) $(head -c 120 /tmp/out | tr '\\n' ' ')\"";
  }

  private static final Pattern MISSING_TOOL = Pattern.compile("[\\w.-]+: not found");

  /** Asserts the outcome of attempt {@code name}; returns its line. */
  private static String assertOutcome(List<String> outcomes, String name, String expected) {
    Pattern line = Pattern.compile("ATTEMPT " + Pattern.quote(name) + ": (works|fails)\\b.*");
    for (String outcome : outcomes) {
      Matcher m = line.matcher(outcome);
      if (m.matches()) {
        assertEquals(expected, m.group(1), outcome);
        // a tool the image lacks would fail for the wrong reason ("sh: nc: not found"; a TFTP
        // server's "file not found" is a right one)
        assertFalse(MISSING_TOOL.matcher(outcome).find(), outcome);
        return outcome;
      }
    }
    throw new AssertionError("no outcome of " + name + " in " + outcomes);
  }

  /** The guest's address as the daemon's DHCP hosts file gives it. */
  private String awaitAddress(String id) throws Exception {
    Path hosts = root.resolve("state/network/dnsmasq.hosts");
    String[] address = new String[1];
    BridgeDaemonIT.await(
        () -> {
          List<String> lines = Files.readAllLines(hosts);
          for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).strip().equals("# instance " + id)) {
              address[0] = lines.get(i + 1).split(",")[1].strip();
              return true;
            }
          }
          return false;
        },
        "a DHCP host for " + id);
    return address[0];
  }

  private void acceptAll() {
    while (!listener.isClosed()) {
      try {
        listener.accept().close();
        accepted.incrementAndGet();
      } catch (IOException closed) {
        return;
      }
    }
  }

  private static String read(String address, int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(address, port), 2000);
      socket.setSoTimeout(2000);
      try (InputStream in = socket.getInputStream()) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
  }

  /** The host's name, which the daemon's dnsmasq answers on the bridge. */
  private static String hostName() throws IOException {
    return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
  }

  /** An address of this host outside the bridge (its main interface), or 127.0.0.1. */
  private static String otherHostAddress() {
    for (String line : BridgeDaemonIT.run("ip", "-4", "-o", "address").lines().toList()) {
      String[] words = line.trim().split("\\s+");
      if (words.length > 3 && !words[1].equals("lo") && !words[1].equals(BRIDGE)) {
        return words[3].substring(0, words[3].indexOf('/'));
      }
    }
    return "127.0.0.1";
  }

  private List<String> containersOf(String instanceId) {
    return docker
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(
            Map.of(
                DockerBackend.LABEL_ROOT,
                root.toAbsolutePath().normalize().toString(),
                DockerBackend.LABEL_INSTANCE,
                instanceId))
        .exec()
        .stream()
        .map(Container::getId)
        .toList();
  }

  private void removeContainers() {
    if (root == null) {
      return;
    }
    for (Container container :
        docker
            .listContainersCmd()
            .withShowAll(true)
            .withLabelFilter(
                Map.of(DockerBackend.LABEL_ROOT, root.toAbsolutePath().normalize().toString()))
            .exec()) {
      try {
        docker.removeContainerCmd(container.getId()).withForce(true).exec();
      } catch (NotFoundException gone) {
        // removed meanwhile
      }
    }
  }

  private static List<String> ourPorts() {
    List<String> ports = new ArrayList<>();
    for (String line : BridgeDaemonIT.run("ip", "-br", "link", "show").lines().toList()) {
      String name = line.split("[\\s@]+")[0];
      if (name.matches(PREFIX + "[tv][0-9a-f]{8}p?")) {
        ports.add(name);
      }
    }
    return ports;
  }

  private static void assertNoNetworkOfThisTest() {
    String links = BridgeDaemonIT.run("ip", "-br", "address", "show");
    assertFalse(links.contains(BRIDGE), "bridge " + BRIDGE + " is gone:\n" + links);
    assertEquals(List.of(), ourPorts(), "no port of this test's prefix " + PREFIX);
    String tables = BridgeDaemonIT.run("nft", "list", "tables");
    assertFalse(tables.contains(TABLE), "no table " + TABLE + ":\n" + tables);
  }
}
