package dev.buildhost.it.network;

import static dev.buildhost.it.network.NetworkLab.HOST;
import static dev.buildhost.it.network.NetworkLab.SETTINGS;
import static dev.buildhost.it.network.NetworkLab.check;
import static dev.buildhost.it.network.NetworkLab.in;
import static dev.buildhost.it.network.NetworkLab.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.network.NetworkLab.Result;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.daemon.GuestNetworkStart;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.ContainerAddressing;
import dev.buildhost.manager.network.GuestNamespace;
import dev.buildhost.manager.network.GuestPort;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.manager.network.Links;
import dev.buildhost.manager.network.MacAddress;
import dev.buildhost.manager.network.NetworkException;
import dev.buildhost.manager.network.NetworkMode;
import dev.buildhost.manager.network.ReconcileResult;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest network on the real kernel: a bridge, buildhost's nftables tables, a daemon-owned
 * dnsmasq, and network namespaces on veths standing in for guests, each with its own writable TFTP
 * server (the project's own, in-process) on the host address. Each test ends with the network taken
 * down and checks that nothing is left.
 */
class BridgeNetworkIT {
  @TempDir Path temp;

  private NetworkLab lab;
  private BridgeNetwork network;
  private final List<TftpServer> servers = new ArrayList<>();
  private final List<AutoCloseable> listeners = new ArrayList<>();

  @BeforeEach
  void cleanHostAndNetwork() throws Exception {
    NetworkLab.requireKernelAndTools();
    NetworkLab.requireCleanHost();
    // dnsmasq reads its hosts file as an unprivileged user: the folders above it must be passable.
    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
    lab = new NetworkLab();
    network = BridgeNetwork.open(SETTINGS, temp.resolve("state"), new HostCommands());
  }

  @AfterEach
  void nothingLeaks() throws Exception {
    for (AutoCloseable listener : listeners) {
      listener.close();
    }
    servers.forEach(TftpServer::close);
    if (network != null) {
      network.shutDown();
    }
    if (lab != null) {
      lab.close();
    }
    NetworkLab.assertNothingLeft();
  }

  @Test
  void eachGuestReachesOnlyItsOwnTftpServerAndNothingElseOfTheHost() throws Exception {
    Guest a = guest("a", ContainerAddressing.STATIC, false);
    Guest b = guest("b", ContainerAddressing.STATIC, false);
    assertTrue(network.links().isolated(a.port().interfaceName()), "port isolation is on");

    // Its own server, both ways, at bbot's address and the standard port.
    assertEquals("only a\n", fetch(a, "tftp://" + HOST + "/a.txt").output());
    assertEquals("only b\n", fetch(b, "tftp://" + HOST + "/b.txt").output());
    assertFalse(fetch(a, "tftp://" + HOST + "/b.txt").ok(), "b.txt is only in b's folder");
    Path upload = Files.writeString(temp.resolve("upload.txt"), "result of a\n");
    check(
        in(
            a.namespace(),
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-T",
            upload.toString(),
            "tftp://" + HOST + "/up.txt"));
    assertEquals("result of a\n", Files.readString(a.root().resolve("up.txt")));
    assertFalse(Files.exists(b.root().resolve("up.txt")));

    // The other guest's port, read and write.
    assertFalse(
        fetch(a, "tftp://" + HOST + ":" + b.server().port() + "/b.txt").ok(), "a reads b's port");
    assertFalse(
        in(
                a.namespace(),
                "curl",
                "-sS",
                "--max-time",
                "4",
                "-T",
                upload.toString(),
                "tftp://" + HOST + ":" + b.server().port() + "/forged.txt")
            .ok(),
        "a writes to b's port");
    assertFalse(Files.exists(b.root().resolve("forged.txt")));

    // Host services: a listener on the host address and one on every address (as 127.0.0.1-only
    // services are not routable from a guest at all, "any address" is what a guest could hit).
    CountingListener onHostAddress = listen(new InetSocketAddress(HOST, 0));
    CountingListener onAnyAddress = listen(new InetSocketAddress(0));
    for (CountingListener listener : List.of(onHostAddress, onAnyAddress)) {
      assertFalse(connectFrom(a, HOST, listener.port()), "a reached host port " + listener.port());
      assertEquals(0, listener.accepted(), "nothing from a arrived");
      // The listener works: the host itself reaches it.
      new Socket(HOST, listener.port()).close();
    }

    // The other guest's address: the host reaches b, a does not.
    check(run("busybox", "ping", "-c", "1", "-W", "2", b.port().addressText()));
    assertFalse(
        in(a.namespace(), "busybox", "ping", "-c", "1", "-W", "2", b.port().addressText()).ok(),
        "a pings b");

    // A spoofed source: a takes b's address; its TFTP would be sent to b's server if it passed.
    check(in(a.namespace(), "ip", "address", "add", b.port().addressText() + "/32", "dev", "eth0"));
    assertFalse(
        in(
                a.namespace(),
                "curl",
                "-sS",
                "--max-time",
                "4",
                "--interface",
                b.port().addressText(),
                "tftp://" + HOST + "/b.txt")
            .ok(),
        "a posing as b fetched b's file");
    // With b's MAC too, the server's answer would come back to a's port: only the bridge filter
    // stops it.
    check(in(a.namespace(), "ip", "link", "set", "dev", "eth0", "address", b.port().mac().text()));
    assertFalse(
        in(
                a.namespace(),
                "curl",
                "-sS",
                "--max-time",
                "4",
                "--interface",
                b.port().addressText(),
                "tftp://" + HOST + "/b.txt")
            .ok(),
        "a posing as b with b's MAC fetched b's file");
    check(in(a.namespace(), "ip", "link", "set", "dev", "eth0", "address", a.port().mac().text()));
    check(
        in(
            a.namespace(),
            "ip",
            "address",
            "delete",
            b.port().addressText() + "/32",
            "dev",
            "eth0"));
    // A spoofed MAC: its own address from another MAC is dropped; with its MAC back it works again.
    check(in(a.namespace(), "ip", "link", "set", "dev", "eth0", "address", "02:00:00:00:00:66"));
    assertFalse(fetch(a, "tftp://" + HOST + "/a.txt").ok(), "a with a forged MAC fetched");
    check(in(a.namespace(), "ip", "link", "set", "dev", "eth0", "address", a.port().mac().text()));
    check(in(a.namespace(), "ip", "neigh", "flush", "all"));
    assertEquals("only a\n", fetch(a, "tftp://" + HOST + "/a.txt").output());
  }

  @Test
  void dhcpFromTheDaemonsDnsmasqGivesANamespaceItsGuestsAddress() throws Exception {
    Guest guest = guest("dhcp", ContainerAddressing.DHCP, false);
    assertFalse(
        check(in(guest.namespace(), "ip", "-4", "address", "show", "dev", "eth0"))
            .output()
            .contains("inet "),
        "no address before DHCP");
    Path script =
        Files.writeString(
            temp.resolve("udhcpc.script"),
            """
        #!/bin/sh
        case "$1" in
          bound|renew) ip address replace "$ip/$mask" dev "$interface" && ip route replace default via "$router" ;;
        esac
        """);
    script.toFile().setExecutable(true);
    Result lease =
        in(
            guest.namespace(),
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-n",
            "-q",
            "-f",
            "-t",
            "5",
            "-T",
            "2",
            "-s",
            script.toString());
    assertTrue(lease.ok(), "udhcpc: " + lease.errors() + lease.output());
    String address =
        check(in(guest.namespace(), "ip", "-4", "address", "show", "dev", "eth0")).output();
    assertTrue(address.contains("inet " + guest.port().addressText() + "/24"), address);
    assertTrue(
        NetworkLab.readFile(network.dnsmasq().leasesFile()).contains(guest.port().mac().text()),
        "dnsmasq recorded the lease");
    assertTrue(
        check(in(guest.namespace(), "ip", "route")).output().contains("default via " + HOST));
    assertEquals("only dhcp\n", fetch(guest, "tftp://" + HOST + "/dhcp.txt").output());
  }

  @Test
  void afterACrashANewNetworkKeepsLiveGuestsAndRemovesTheRest() throws Exception {
    Guest live = guest("live", ContainerAddressing.STATIC, false);
    Guest dead = guest("dead", ContainerAddressing.STATIC, false);
    long dnsmasq = network.dnsmasq().pid();
    check(run("ip", "tuntap", "add", "dev", "bxtdeadbeef", "mode", "tap"));
    // The daemon dies here: nothing is taken down. Its successor opens the same network.
    BridgeNetwork successor =
        BridgeNetwork.open(SETTINGS, temp.resolve("state"), new HostCommands());
    network = successor;
    assertEquals(dnsmasq, successor.dnsmasq().pid(), "the running dnsmasq is adopted, not doubled");
    assertEquals(live.port().address(), successor.addressOf(live.id()).orElseThrow());

    ReconcileResult result = successor.reconcile(Set.of(live.id()));

    assertEquals(
        Set.of(dead.port().interfaceName(), "bxtdeadbeef"), Set.copyOf(result.removedPorts()));
    assertEquals(Set.of(dead.id()), result.removedRules());
    assertEquals(Set.of(dead.id()), result.removedHosts());
    assertEquals(Set.of(live.id()), result.kept());
    assertEquals(Set.of(live.id()), successor.firewall().instanceIds());
    assertEquals(
        List.of(live.port().interfaceName()),
        successor.links().ports().stream().map(Links.PortLink::name).toList());
    String hosts = NetworkLab.readFile(successor.dnsmasq().hostsFile());
    assertTrue(
        hosts.contains(live.port().mac().text()) && !hosts.contains(dead.port().mac().text()),
        hosts);
    assertFalse(
        in(dead.namespace(), "ip", "link", "show", "dev", "eth0").ok(),
        "the dead guest's veth is gone");
    assertEquals(
        "only live\n",
        fetch(live, "tftp://" + HOST + "/live.txt").output(),
        "the live guest kept its network");
    // The adopted address is not handed out again.
    Guest next = guest("next", ContainerAddressing.STATIC, false);
    assertNotEquals(live.port().address(), next.port().address());
    assertEquals("only next\n", fetch(next, "tftp://" + HOST + "/next.txt").output());
    assertFalse(
        successor.reconcile(Set.of(live.id(), next.id())).removedAnything(),
        "a second pass finds nothing");
  }

  @Test
  void outboundNatReachesOnlyPublicAddressesAndOnlyForTheGuestThatAskedForIt() throws Exception {
    // NAT needs IPv4 forwarding; the test turns it on when it is off and puts it back at the end.
    Path forwarding = Path.of("/proc/sys/net/ipv4/ip_forward");
    String before = NetworkLab.readFile(forwarding).strip();
    if (!before.equals("1")) {
      Files.writeString(forwarding, "1\n");
      listeners.add(() -> Files.writeString(forwarding, before + "\n"));
    }
    // "Outside": a namespace of the test's own on a veth, with a public (documentation, TEST-NET-2)
    // address and a private one. No packet leaves this host.
    String outside = lab.namespace("out");
    check(run("ip", "link", "add", "name", "bitout0", "type", "veth", "peer", "name", "bitout1"));
    lab.ownLink("bitout0");
    check(run("ip", "link", "set", "dev", "bitout1", "netns", outside));
    check(run("ip", "address", "add", "198.51.100.1/24", "dev", "bitout0"));
    check(run("ip", "address", "add", "10.213.7.1/24", "dev", "bitout0"));
    check(run("ip", "link", "set", "dev", "bitout0", "up"));
    check(in(outside, "ip", "address", "add", "198.51.100.2/24", "dev", "bitout1"));
    check(in(outside, "ip", "address", "add", "10.213.7.2/24", "dev", "bitout1"));
    check(in(outside, "ip", "link", "set", "dev", "bitout1", "up"));
    Path site = Files.createDirectories(temp.resolve("site"));
    Files.writeString(site.resolve("index.html"), "outside\n");
    Path log = temp.resolve("httpd.log");
    lab.start(
        log,
        "ip",
        "netns",
        "exec",
        outside,
        "busybox",
        "httpd",
        "-f",
        "-vv",
        "-p",
        "8080",
        "-h",
        site.toString());
    check(
        run(
            "sh",
            "-c",
            "for i in $(seq 50); do curl -sf -o /dev/null --max-time 1 http://198.51.100.2:8080/ "
                + "&& exit 0; sleep 0.1; done; exit 1"));

    Guest nat = guest("nat", ContainerAddressing.STATIC, true);
    Guest plain = guest("plain", ContainerAddressing.STATIC, false);
    String rules = network.firewall().listing();
    assertTrue(
        rules.contains(
            "ip saddr " + nat.port().addressText() + " masquerade comment \"instance it-nat\""),
        rules);
    assertFalse(rules.contains("ip saddr " + plain.port().addressText() + " masquerade"), rules);

    Result reached =
        in(nat.namespace(), "curl", "-sS", "--max-time", "5", "http://198.51.100.2:8080/");
    assertEquals(
        "outside\n",
        reached.output(),
        "the NAT guest reaches a public address: " + reached.errors());
    assertTrue(
        NetworkLab.readFile(log).contains("198.51.100.1"),
        "seen masqueraded: " + NetworkLab.readFile(log));
    assertFalse(
        NetworkLab.readFile(log).contains(nat.port().addressText()),
        "the guest's own address never shows");
    assertFalse(
        in(nat.namespace(), "curl", "-sS", "--max-time", "3", "http://10.213.7.2:8080/").ok(),
        "the NAT guest reached a private address");
    assertFalse(
        in(nat.namespace(), "curl", "-sS", "--max-time", "3", "http://198.51.100.1:8080/").ok(),
        "the NAT guest reached the host's other address");
    assertFalse(
        in(plain.namespace(), "curl", "-sS", "--max-time", "3", "http://198.51.100.2:8080/").ok(),
        "a guest without NAT went out");
  }

  @Test
  void adoptedTablesOfAnOlderDaemonGetTheCurrentBaseRulesAndKeepTheirGuests() throws Exception {
    Guest guest = guest("old", ContainerAddressing.STATIC, false);
    // An older daemon wrote its tables without the DNS rule: take it out of the live table.
    String dnsComment = "DNS: the daemon's dnsmasq, local names only";
    long dnsRule = baseRuleHandle("inet", dnsComment);
    check(
        run(
            "nft",
            "delete",
            "rule",
            "inet",
            SETTINGS.tableName(),
            "guest_to_host",
            "handle",
            Long.toString(dnsRule)));
    assertFalse(network.firewall().listing().contains(dnsComment));
    List<String> guestRulesBefore = guestRuleTexts();

    // The next daemon adopts the tables.
    network = BridgeNetwork.open(SETTINGS, temp.resolve("state"), new HostCommands());

    String listing = withoutCounts(network.firewall().listing());
    assertEquals(1, occurrences(listing, dnsComment), listing);
    String hostChain =
        check(run("nft", "list", "chain", "inet", SETTINGS.tableName(), "guest_to_host")).output();
    assertTrue(
        hostChain.indexOf(dnsComment) < hostChain.indexOf("guests reach no other host service"),
        "DNS is accepted ahead of the drop:\n" + hostChain);
    for (String base :
        List.of(
            "not a guest port of ours",
            "guests never reach each other",
            "guests reach no other host service",
            "nothing outside opens a connection to a guest")) {
      assertEquals(1, occurrences(listing, base), "no base rule doubled: " + base + "\n" + listing);
    }
    assertEquals(guestRulesBefore, guestRuleTexts(), "the guest's rules are kept as they were");
    String ports =
        check(run("nft", "list", "chain", "bridge", SETTINGS.tableName(), "guest_ports")).output();
    assertTrue(
        ports.indexOf(guest.port().interfaceName()) < ports.indexOf("not a guest port of ours"),
        "the guest's rules stay ahead of the base rules:\n" + ports);
    assertEquals("only old\n", fetch(guest, "tftp://" + HOST + "/old.txt").output());

    // Adopting current tables changes nothing.
    network = BridgeNetwork.open(SETTINGS, temp.resolve("state"), new HostCommands());
    assertEquals(listing, withoutCounts(network.firewall().listing()));
  }

  /** A listing without its counters, which guests' stray frames change. */
  private static String withoutCounts(String listing) {
    return listing.replaceAll("counter packets \\d+ bytes \\d+", "counter");
  }

  @Test
  void aDaemonInModeUserRemovesTheBridgeNetworkItMadeOnceNoGuestIsLeft() throws Exception {
    network.shutDown();
    // A daemon in mode bridge made the network under its state folder, then stopped leaving a
    // guest on it; it comes back in mode user.
    Path stateDir = temp.resolve("daemon-state");
    network = BridgeNetwork.open(SETTINGS, stateDir.resolve("network"), new HostCommands());
    Guest guest = guest("stays", ContainerAddressing.STATIC, false);
    long dnsmasq = network.dnsmasq().pid();
    DaemonSettings.NetworkChoice user =
        new DaemonSettings.NetworkChoice(SETTINGS.withMode(NetworkMode.USER), false);

    assertEquals("user", GuestNetworkStart.open(user, stateDir, new HostCommands()).shown().mode());
    assertTrue(network.links().bridgeExists(), "kept while a guest port is on it");
    assertTrue(network.firewall().tableExists("inet"));
    assertTrue(ProcessHandle.of(dnsmasq).isPresent(), "dnsmasq kept");
    assertEquals("only stays\n", fetch(guest, "tftp://" + HOST + "/stays.txt").output());

    // Under other names the record does not match: nothing is touched.
    network.detach(guest.id());
    DaemonSettings.NetworkChoice otherNames =
        new DaemonSettings.NetworkChoice(
            SETTINGS.withNames("bhother0", "buildhost_other", "bo").withMode(NetworkMode.USER),
            false);
    GuestNetworkStart.open(otherNames, stateDir, new HostCommands());
    assertTrue(network.links().bridgeExists(), "a record of other names leaves the bridge");

    GuestNetworkStart.open(user, stateDir, new HostCommands());
    BridgeNetwork removed = network;
    network = null; // nothingLeaks() checks every link, table and dnsmasq of the tests' names
    assertFalse(removed.links().bridgeExists(), "bridge removed");
    assertFalse(removed.firewall().tableExists("bridge"), "bridge table removed");
    assertFalse(removed.firewall().tableExists("inet"), "inet table removed");
    assertFalse(
        ProcessHandle.of(dnsmasq).map(ProcessHandle::isAlive).orElse(false), "dnsmasq stopped");
    assertFalse(
        Files.exists(stateDir.resolve("network/bridge-names")), "the record goes with the network");
  }

  /** The handle of the base rule of {@code family} whose comment is {@code comment}. */
  private static long baseRuleHandle(String family, String comment) {
    String listing =
        check(run("nft", "-a", "list", "table", family, SETTINGS.tableName())).output();
    for (String line : listing.lines().toList()) {
      if (line.contains("comment \"" + comment + "\"")) {
        return Long.parseLong(line.replaceFirst(".*# handle (\\d+)\\s*$", "$1"));
      }
    }
    return fail("no rule '" + comment + "' in\n" + listing);
  }

  /** The text of every per-guest rule of both tables, without handles and counters. */
  private static List<String> guestRuleTexts() {
    List<String> rules = new ArrayList<>();
    for (String family : List.of("bridge", "inet")) {
      String listing = check(run("nft", "list", "table", family, SETTINGS.tableName())).output();
      listing.lines().map(String::strip).filter(l -> l.contains("\"instance ")).forEach(rules::add);
    }
    return rules;
  }

  private static int occurrences(String text, String part) {
    return text.split(java.util.regex.Pattern.quote(part), -1).length - 1;
  }

  @Test
  void detachingRemovesEverythingOfThatGuestAtOnce() throws Exception {
    Guest a = guest("gone", ContainerAddressing.STATIC, true);
    assertEquals(Set.of(a.id()), network.firewall().instanceIds());
    network.detach(a.id());
    assertEquals(Set.of(), network.firewall().instanceIds());
    assertEquals(List.of(), network.links().ports());
    assertFalse(NetworkLab.readFile(network.dnsmasq().hostsFile()).contains(a.id()));
    assertTrue(network.addressOf(a.id()).isEmpty());
    network.detach(a.id());
  }

  @Test
  void aVmGetsAnIsolatedLabelledTapWithItsManifestMacAndASecondGuestCannotTakeThatMac()
      throws Exception {
    MacAddress manifestMac = MacAddress.parse("52:54:00:aa:bb:01", "machine it-vm");
    GuestPort tap = network.attachVm("it-vm", Optional.of(manifestMac), 10000, false);
    assertEquals(manifestMac, tap.mac());
    String link = check(run("ip", "-d", "link", "show", "dev", tap.interfaceName())).output();
    assertTrue(
        link.contains("tun type tap")
            && link.contains("master " + SETTINGS.bridgeName())
            && link.contains("alias buildhost instance it-vm"),
        link);
    assertTrue(network.links().isolated(tap.interfaceName()));
    assertTrue(
        NetworkLab.readFile(network.dnsmasq().hostsFile())
            .contains("52:54:00:aa:bb:01," + tap.addressText()));
    GuestPort derived = network.attachVm("it-vm-2", Optional.empty(), 10001, false);
    assertEquals(MacAddress.forInstance("it-vm-2"), derived.mac());
    NetworkException taken =
        assertThrows(
            NetworkException.class,
            () -> network.attachVm("it-vm-3", Optional.of(manifestMac), 10002, false));
    assertEquals(
        "instance it-vm-3: MAC 52:54:00:aa:bb:01 is already used by instance it-vm",
        taken.getMessage());
    assertEquals(
        Set.of("it-vm", "it-vm-2"),
        network.firewall().instanceIds(),
        "the refused guest left nothing");
  }

  @Test
  void aContainersNamespaceIsFoundByItsProcessId() throws Exception {
    // A process in a network namespace of its own, as the Docker engine makes for a container.
    Path started = temp.resolve("started");
    Process container =
        lab.start(
            temp.resolve("unshare.log"),
            "unshare",
            "--net",
            "sh",
            "-c",
            "touch " + started + "; exec sleep 120");
    for (int i = 0; i < 100 && !Files.exists(started); i++) {
      Thread.sleep(50);
    }
    Path root = Files.createDirectories(temp.resolve("tftp-pid"));
    Files.writeString(root.resolve("pid.txt"), "by pid\n");
    TftpServer server =
        TftpServer.builder(root)
            .bindAddress(InetAddress.getByName(HOST))
            .port(0)
            .writable(true)
            .build()
            .start();
    servers.add(server);
    String pid = Long.toString(container.pid());
    GuestPort port =
        network.attachContainer(
            "it-pid",
            new GuestNamespace.OfProcess(container.pid()),
            server.port(),
            false,
            ContainerAddressing.STATIC);
    assertTrue(
        check(run("nsenter", "-t", pid, "-n", "ip", "-4", "address", "show", "dev", "eth0"))
            .output()
            .contains("inet " + port.addressText() + "/24"));
    assertEquals(
        "by pid\n",
        check(
                run(
                    "nsenter",
                    "-t",
                    pid,
                    "-n",
                    "curl",
                    "-sS",
                    "--max-time",
                    "4",
                    "tftp://" + HOST + "/pid.txt"))
            .output());
    network.detach("it-pid");
    assertFalse(
        run("nsenter", "-t", pid, "-n", "ip", "link", "show", "dev", "eth0").ok(),
        "the veth went with detach");
  }

  @Test
  void aNetworkWhoseTablesCannotBeMadeLeavesNoBridgeBehind() throws Exception {
    network.shutDown();
    network = null;
    // The bridge is made for real; the kernel then refuses the tables (as one without a needed
    // nftables module would).
    HostCommands refusingTables =
        new HostCommands() {
          @Override
          public HostCommands.Result execute(String what, List<String> command, String input)
              throws NetworkException {
            if (what.startsWith("create the nftables tables")) {
              return new HostCommands.Result(
                  1, "", "Error: Could not process rule: Operation not supported");
            }
            return super.execute(what, command, input);
          }
        };
    NetworkException refused =
        assertThrows(
            NetworkException.class,
            () -> BridgeNetwork.open(SETTINGS, temp.resolve("state"), refusingTables));
    assertTrue(refused.getMessage().contains("Operation not supported"), refused.getMessage());
    NetworkLab.assertNothingLeft();
  }

  @Test
  void aStateFolderDnsmasqCannotReadIsRefusedBeforeAnythingIsMade() throws Exception {
    network.shutDown();
    network = null;
    Path closed = Files.createDirectories(temp.resolve("closed"));
    Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
    NetworkException refused =
        assertThrows(
            NetworkException.class,
            () -> BridgeNetwork.open(SETTINGS, closed.resolve("state"), new HostCommands()));
    assertTrue(
        refused.getMessage().contains("because " + closed + " is closed to others"),
        refused.getMessage());
    NetworkLab.assertNothingLeft();
  }

  private record Guest(String id, String namespace, GuestPort port, TftpServer server, Path root) {}

  /**
   * A namespace on a veth of the bridge with its own writable TFTP server holding {@code
   * <what>.txt}.
   */
  private Guest guest(String what, ContainerAddressing addressing, boolean nat) throws Exception {
    String id = "it-" + what;
    String namespace = lab.namespace(what);
    Path root = Files.createDirectories(temp.resolve("tftp-" + what));
    Files.writeString(root.resolve(what + ".txt"), "only " + what + "\n");
    TftpServer server =
        TftpServer.builder(root)
            .bindAddress(InetAddress.getByName(HOST))
            .port(0)
            .writable(true)
            .build()
            .start();
    servers.add(server);
    GuestPort port =
        network.attachContainer(
            id, new GuestNamespace.Named(namespace), server.port(), nat, addressing);
    return new Guest(id, namespace, port, server, root);
  }

  private static Result fetch(Guest guest, String url) {
    return in(guest.namespace(), "curl", "-sS", "--max-time", "4", url);
  }

  private static boolean connectFrom(Guest guest, String address, int port) {
    return in(
                guest.namespace(),
                "curl",
                "-sS",
                "--connect-timeout",
                "2",
                "--max-time",
                "3",
                "telnet://" + address + ":" + port)
            .exitCode()
        != 28;
  }

  private CountingListener listen(InetSocketAddress address) throws IOException {
    CountingListener listener = new CountingListener(address);
    listeners.add(listener);
    return listener;
  }

  /** A TCP listener that counts the connections it accepts. */
  private static final class CountingListener implements AutoCloseable {
    private final ServerSocket socket;
    private final AtomicInteger accepted = new AtomicInteger();
    private final Thread acceptor;

    CountingListener(InetSocketAddress address) throws IOException {
      socket = new ServerSocket();
      socket.bind(address);
      acceptor =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    socket.accept().close();
                    accepted.incrementAndGet();
                  } catch (IOException e) {
                    return;
                  }
                }
              },
              "listener-" + socket.getLocalPort());
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    int accepted() {
      return accepted.get();
    }

    @Override
    public void close() throws IOException {
      socket.close();
      try {
        acceptor.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
