package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import dev.buildhost.it.container.DockerBackendContainerIT.Recorder;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.GuestNetwork;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.tftp.server.TftpServer;
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
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile task in a sample container on a bridge network of the test's own (bridge {@code bhct0},
 * tables {@code buildhost_ct}, ports {@code nc*}, subnet 196.254.113.0/24 so that it never meets
 * another test's or a daemon's 196.254.111.0/24), run by the real Docker backend next to a second
 * guest (a "victim" container with a TCP listener and a TFTP server of its own). It tries what a
 * build must not do and must fail at each; it shows that its own TFTP at the host address, port 69,
 * works both ways. Each attempt and its outcome is printed.
 *
 * <p>The instances' TFTP servers listen on the bridge's host address, where the guests' DNAT sends
 * port 69, as the daemon's are in bridge mode.
 */
class HostileContainerIT {

  private static final GuestNetwork SETTINGS =
      GuestNetwork.of(
          "bridge",
          "bhct0",
          "196.254.113.222",
          24,
          "196.254.113.10",
          "196.254.113.200",
          "buildhost_ct",
          "nc",
          false);
  private static final String HOST = "196.254.113.222";

  private static DockerClient docker;

  @TempDir Path root;

  @BeforeAll
  static void requirements() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("the hostile container test makes a bridge and nftables tables: as root");
    }
    for (String tool : List.of("ip", "bridge", "nft", "dnsmasq", "nsenter")) {
      Requirement.command(tool);
    }
    docker = Daemons.docker();
    assertNothingOfOursLeft();
  }

  @AfterAll
  static void disconnect() throws IOException {
    if (docker != null) {
      docker.close();
    }
  }

  @Test
  void aHostileTaskReachesOnlyItsOwnTftpServer() throws Exception {
    // dnsmasq, once it drops root, reads its hosts file under here
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    BridgeNetwork network =
        BridgeNetwork.open(SETTINGS, root.resolve("state/network"), new HostCommands());
    List<Guest> guests = new ArrayList<>();
    AtomicInteger apiConnections = new AtomicInteger();
    Path victimFolder = Files.createDirectories(root.resolve("tftp/victim"));
    Path hostileFolder = Files.createDirectories(root.resolve("tftp/hostile"));
    Files.writeString(victimFolder.resolve("secret.txt"), "the victim's secret\n");
    InetAddress host = InetAddress.getByName(HOST);
    DockerBackend backend =
        new DockerBackend(
            ContainerFixtures.config(root, 4, Duration.ofSeconds(2)), Optional.of(network));
    try (TftpServer victimTftp = instanceServer(victimFolder, host);
        TftpServer hostileTftp = instanceServer(hostileFolder, host);
        ServerSocket api = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"))) {
      Thread acceptor = countConnections(api, apiConnections);

      // The victim: another guest with a TCP listener the host can reach.
      LaunchSpec victim =
          new LaunchSpec(
              "victim",
              ContainerFixtures.sampleRunning(
                  "sh -c \"while :; do echo victim-listens | nc -l -p 8080; done\""),
              root.resolve("instances/victim"),
              victimTftp.port());
      guests.add(backend.launch(victim, new Recorder()));
      String victimAddress = network.addressOf("victim").orElseThrow().getHostAddress();
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(() -> read(victimAddress, 8080).contains("victim-listens"));

      String otherHostAddress = otherHostAddress();
      int apiPort = api.getLocalPort();
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
                  "timeout 8 tftp -g -l /tmp/s -r secret.txt " + HOST + " " + victimTftp.port()),
              attempt(
                  "other-tftp-write",
                  "timeout 8 tftp -p -l /tmp/w -r forged.txt " + HOST + " " + victimTftp.port()),
              attempt("api-at-host-address", "nc -w 3 " + HOST + " " + apiPort + " </dev/null"),
              attempt("api-at-127.0.0.1", "nc -w 3 127.0.0.1 " + apiPort + " </dev/null"),
              attempt(
                  "api-at-" + otherHostAddress,
                  "nc -w 3 " + otherHostAddress + " " + apiPort + " </dev/null"),
              attempt(
                  "other-guest-" + victimAddress,
                  "nc -w 3 " + victimAddress + " 8080 </dev/null | grep victim-listens"),
              attempt("spoof-source-address", "ip address add " + victimAddress + "/32 dev eth0"),
              attempt("spoof-mac", "ip link set dev eth0 address 02:00:00:00:00:99"),
              attempt("raw-socket-ping", "ping -c 1 -W 2 " + HOST),
              attempt("packet-socket-arping", "arping -c 1 -w 2 -I eth0 " + HOST));
      TaskManifest.of(attempts.toArray(String[]::new)).writeTo(hostileFolder);
      LaunchSpec hostile =
          new LaunchSpec(
              "hostile",
              ContainerFixtures.sample(),
              root.resolve("instances/hostile"),
              hostileTftp.port());
      Recorder recorder = new Recorder();
      guests.add(backend.launch(hostile, recorder));
      recorder.awaitStopped();

      ResultManifest result = ResultManifest.read(hostileFolder.resolve("result.manifest"));
      List<String> outcomes =
          result.logLines().stream().filter(line -> line.startsWith("ATTEMPT ")).toList();
      System.out.println(
          "hostile task in a container on bridge "
              + SETTINGS.bridgeName()
              + " (guest "
              + network.addressOf("hostile").map(InetAddress::getHostAddress).orElse("?")
              + "), each attempt and its outcome:\n  "
              + String.join("\n  ", outcomes));

      assertOutcome(outcomes, "own-tftp-read", "works");
      assertOutcome(outcomes, "own-tftp-write", "works");
      assertEquals("written-by-the-guest\n", Files.readString(hostileFolder.resolve("own.txt")));
      for (String blocked :
          List.of(
              "other-tftp-read",
              "other-tftp-write",
              "api-at-host-address",
              "api-at-127.0.0.1",
              "api-at-" + otherHostAddress,
              "other-guest-" + victimAddress,
              "spoof-source-address",
              "spoof-mac",
              "raw-socket-ping",
              "packet-socket-arping")) {
        assertOutcome(outcomes, blocked, "fails");
      }
      assertFalse(Files.exists(victimFolder.resolve("forged.txt")), "forged into the victim");
      assertEquals(0, apiConnections.get(), "connections that reached the API-like port");
      acceptor.interrupt();

      // Each guest's end removes its port, rules and DHCP entry; the network stays for others.
      guests.forEach(Guest::release);
      assertEquals(List.of(), network.links().ports(), "ports left");
      assertEquals(Set.of(), network.firewall().instanceIds(), "rules left");
      assertEquals(List.of(), network.dnsmasq().readHosts(), "DHCP entries left");
    } finally {
      guests.forEach(Guest::release); // before the backend closes: removes the containers
      backend.close();
      network.shutDown();
      ContainerFixtures.removeContainers(docker, root);
    }
    assertEquals(List.of(), ContainerFixtures.containersOf(docker, root), "containers left");
    assertNothingOfOursLeft();
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

  private static void assertOutcome(List<String> outcomes, String name, String expected) {
    Pattern line = Pattern.compile("ATTEMPT " + Pattern.quote(name) + ": (works|fails)\\b.*");
    for (String outcome : outcomes) {
      Matcher m = line.matcher(outcome);
      if (m.matches()) {
        assertEquals(expected, m.group(1), outcome);
        return;
      }
    }
    throw new AssertionError("no outcome of " + name + " in " + outcomes);
  }

  private static TftpServer instanceServer(Path folder, InetAddress host) throws IOException {
    return TftpServer.builder(folder).bindAddress(host).port(0).writable(true).build().start();
  }

  private static Thread countConnections(ServerSocket api, AtomicInteger count) {
    Thread thread =
        new Thread(
            () -> {
              while (!api.isClosed()) {
                try {
                  api.accept().close();
                  count.incrementAndGet();
                } catch (IOException closed) {
                  return;
                }
              }
            },
            "api-like-listener");
    thread.setDaemon(true);
    thread.start();
    return thread;
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

  /** An address of this host outside the bridge (its main interface), or 127.0.0.1. */
  private static String otherHostAddress() throws Exception {
    HostCommands.Result routes =
        new HostCommands().execute("list addresses", List.of("ip", "-4", "-o", "address"), "");
    for (String line : routes.output().lines().toList()) {
      String[] words = line.trim().split("\\s+");
      if (words.length > 3 && !words[1].equals("lo") && !words[1].equals(SETTINGS.bridgeName())) {
        return words[3].substring(0, words[3].indexOf('/'));
      }
    }
    return "127.0.0.1";
  }

  private static void assertNothingOfOursLeft() throws Exception {
    HostCommands commands = new HostCommands();
    String links =
        commands.execute("list links", List.of("ip", "-br", "link", "show"), "").output();
    for (String line : links.lines().toList()) {
      String name = line.split("[\\s@]+")[0];
      assertFalse(
          name.equals(SETTINGS.bridgeName()) || name.matches("nc[tv][0-9a-f]{8}p?"),
          "left behind: link " + line);
    }
    for (String family : List.of("bridge", "inet")) {
      assertTrue(
          commands
                  .execute(
                      "list table",
                      List.of("nft", "list", "table", family, SETTINGS.tableName()),
                      "")
                  .exitCode()
              != 0,
          "left behind: " + family + " table " + SETTINGS.tableName());
    }
  }
}
