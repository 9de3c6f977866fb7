package dev.buildhost.it.daemon;

import static dev.buildhost.it.daemon.BridgeDaemonIT.HOST;
import static dev.buildhost.it.daemon.BridgeDaemonIT.await;
import static dev.buildhost.it.daemon.BridgeDaemonIT.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile task run as a sample VM's task on the daemon's guest bridge, next to a second running
 * instance (the victim). It tries what an untrusted build would try, and each attempt prints one
 * line {@code HOSTILE <attempt>: blocked|REACHED}; the test asserts every outcome. The daemon's API
 * (and so {@code /metrics}) listens on the bridge's own address here, so only the firewall stands
 * between the guest and it; a test process listens on a TCP port of the same address.
 */
class HostileGuestIT {
  @TempDir Path scratch;
  private Path root;
  private DaemonProcess daemon;
  private ServerSocket listener;
  private final AtomicInteger accepted = new AtomicInteger();
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
    BridgeDaemonIT.assertNoNetworkOfThisTest();
    Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
    root = scratch.resolve("root");
    Files.createDirectories(root);
    Samples.linkTree(Samples.machines(), root.resolve("machines"));
    // The API on the guests' side of the host: the bridge address exists once the network is up,
    // before the API starts.
    daemon = new DaemonProcess(root, BridgeDaemonIT.flags(HOST + ":0"));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (listener != null) {
      listener.close();
    }
    if (daemon != null) {
      daemon.close();
    }
    BridgeDaemonIT.removeLeftovers(root, started);
  }

  @Test
  void aHostileTaskReachesNothingButItsOwnTftpAndTheSharedTree() throws Exception {
    ApiClient api = daemon.start();
    int apiPort = api.base().getPort();
    assertEquals(HOST, api.base().getHost(), "the API listens on the bridge address");
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
    Thread acceptor = new Thread(this::acceptAll, "hostile-it-listener");
    acceptor.setDaemon(true);
    acceptor.start();
    Files.writeString(root.resolve("tftp/shared-toolchain.txt"), "shared tree content\n");

    InstanceView victim = start(api, TaskManifest.of("sleep 400"));
    Path victimFolder = root.resolve("tftp").resolve(victim.id());
    Files.writeString(victimFolder.resolve("secret.txt"), "the victim's secret\n");
    String victimAddress = awaitAddress(victim.id());
    await(() -> console(victim.id()).contains("(DHCP)"), "the victim has its address by DHCP");

    Map<String, String> attempts = new LinkedHashMap<>();
    String tftp = "timeout 8 tftp";
    attempts.put(
        "read the victim instance TFTP port",
        tftp + " -g -r secret.txt -l stolen.txt " + HOST + " " + victim.tftpPort());
    attempts.put(
        "write the victim instance TFTP port",
        "echo forged > forged.txt && "
            + tftp
            + " -p -l forged.txt -r result.manifest "
            + HOST
            + " "
            + victim.tftpPort());
    attempts.put(
        "read the victim folder through :69",
        tftp + " -g -r " + victim.id() + "/secret.txt -l stolen2.txt " + HOST + " 69");
    for (String address : hostAddresses()) {
      attempts.put(
          "the API at " + address + ":" + apiPort,
          "timeout 8 nc -w 4 " + address + " " + apiPort + " </dev/null");
      attempts.put(
          "/metrics at " + address + ":" + apiPort,
          "timeout 8 wget -q -T 4 -O - http://" + address + ":" + apiPort + "/metrics");
    }
    attempts.put(
        "a host TCP port a test listens on (" + HOST + ":" + listener.getLocalPort() + ")",
        "timeout 8 nc -w 4 " + HOST + " " + listener.getLocalPort() + " </dev/null");
    attempts.put(
        "the other guest by ping (" + victimAddress + ")",
        "timeout 8 ping -c 2 -W 2 " + victimAddress);
    attempts.put(
        "the other guest by TCP (" + victimAddress + ":22)",
        "timeout 8 nc -w 4 " + victimAddress + " 22 </dev/null");
    // A spoofed source: take the victim's address; DNAT by source would hand :69 to its server.
    attempts.put(
        "TFTP :69 with the victim address as source",
        "ip addr flush dev eth0 && ip addr add "
            + victimAddress
            + "/24 dev eth0 && "
            + tftp
            + " -g -r secret.txt -l stolen3.txt "
            + HOST
            + " 69; ok=$?; ip addr flush dev eth0; ip addr add \"$MINE\" dev eth0; exit $ok");

    List<String> commands = new ArrayList<>();
    commands.add("ip -4 -o addr show dev eth0 | awk '{print $4}' > /tmp/mine");
    // The sample guest has no route beyond its subnet; a hostile one makes itself one.
    commands.add("ip route add default via " + HOST + " || true");
    int n = 0;
    for (Map.Entry<String, String> attempt : attempts.entrySet()) {
      // The name goes into a single-quoted echo.
      assertFalse(attempt.getKey().contains("'"), attempt.getKey());
      n++;
      commands.add(
          "MINE=$(cat /tmp/mine); export MINE; if ( "
              + attempt.getValue()
              + " ) >/tmp/attempt"
              + n
              + " 2>&1; then echo 'HOSTILE "
              + attempt.getKey()
              + ": REACHED'; else echo 'HOSTILE "
              + attempt.getKey()
              + ": blocked'; fi");
    }
    // What must work: its own TFTP both ways and the shared tree.
    commands.add(
        "if "
            + tftp
            + " -g -r task.manifest -l own-task.txt "
            + HOST
            + " 69; then echo 'OWN read task.manifest: works'; else echo 'OWN read task.manifest: FAILED'; fi");
    commands.add(
        "echo from-the-hostile-guest > own-up.txt; if "
            + tftp
            + " -p -l own-up.txt -r own-up.txt "
            + HOST
            + " 69; then echo 'OWN write own-up.txt: works'; else echo 'OWN write own-up.txt: FAILED'; fi");
    commands.add(
        "if "
            + tftp
            + " -g -r shared-toolchain.txt -l shared.txt "
            + HOST
            + " 69 && grep -q 'shared tree content' shared.txt; then echo 'OWN read the shared tree: works'; else echo 'OWN read the shared tree: FAILED'; fi");
    InstanceView hostile = start(api, new TaskManifest(commands));

    ResultManifest result =
        ResultManifest.awaitIn(root.resolve("tftp").resolve(hostile.id()), Duration.ofMinutes(5))
            .orElseThrow(
                () ->
                    new AssertionError(
                        "no result from the hostile task; console:\n" + console(hostile.id())));
    List<String> outcomes =
        result.logLines().stream()
            .filter(l -> l.startsWith("HOSTILE ") || l.startsWith("OWN "))
            .toList();
    System.out.println("hostile task outcomes:");
    outcomes.forEach(l -> System.out.println("  " + l));
    assertEquals("success", result.status(), result.log());
    for (String attempt : attempts.keySet()) {
      assertTrue(
          outcomes.contains("HOSTILE " + attempt + ": blocked"),
          attempt + " must fail; outcomes:\n" + String.join("\n", outcomes));
    }
    for (String own : List.of("read task.manifest", "write own-up.txt", "read the shared tree")) {
      assertTrue(
          outcomes.contains("OWN " + own + ": works"),
          own + " must work; outcomes:\n" + String.join("\n", outcomes));
    }
    assertEquals(0, accepted.get(), "the test's listener accepted no connection from the guest");
    assertEquals(
        "from-the-hostile-guest\n",
        Files.readString(root.resolve("tftp").resolve(hostile.id()).resolve("own-up.txt")));
    assertFalse(Files.exists(victimFolder.resolve("result.manifest")), "nothing forged");
    assertFalse(Files.exists(victimFolder.resolve("forged.txt")));
    api.terminate(victim.id());
  }

  private void acceptAll() {
    while (!listener.isClosed()) {
      try {
        Socket socket = listener.accept();
        accepted.incrementAndGet();
        socket.close();
      } catch (SocketException closed) {
        return;
      } catch (IOException e) {
        return;
      }
    }
  }

  /** Every IPv4 address of the host, on every interface. */
  private static List<String> hostAddresses() {
    List<String> addresses = new ArrayList<>();
    for (String line : run("ip", "-4", "-o", "address", "show").lines().toList()) {
      String[] fields = line.trim().split("\\s+");
      for (int i = 0; i + 1 < fields.length; i++) {
        if (fields[i].equals("inet")) {
          addresses.add(fields[i + 1].substring(0, fields[i + 1].indexOf('/')));
        }
      }
    }
    return addresses;
  }

  /** The guest's address as the daemon's DHCP hosts file gives it. */
  private String awaitAddress(String id) throws Exception {
    Path hosts = root.resolve("state/network/dnsmasq.hosts");
    String[] address = new String[1];
    await(
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

  private String console(String id) {
    try {
      return Files.readString(root.resolve("instances").resolve(id).resolve("console.log"));
    } catch (IOException e) {
      return "";
    }
  }

  private InstanceView start(ApiClient api, TaskManifest task) {
    InstanceView instance =
        api.start(
            new StartBody(
                Samples.VM,
                600L,
                Map.of(
                    TaskManifest.FILE_NAME,
                    Base64.getEncoder()
                        .encodeToString(task.text().getBytes(StandardCharsets.UTF_8)))));
    started.add(instance.id());
    return instance;
  }
}
