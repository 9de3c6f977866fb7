package dev.buildhost.manager.network;

import java.io.IOException;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's guest network in {@link NetworkMode#BRIDGE} mode: the bridge with the host address,
 * buildhost's firewall tables and dnsmasq. Each guest attached gets an address, a MAC, an isolated
 * port, a DHCP entry and its firewall rules; detaching removes all four. The first guest with
 * outbound NAT turns the host's IPv4 forwarding on ({@link Ipv4Forwarding}). {@link #open} adopts
 * whatever a previous daemon left (its bridge, tables, dnsmasq, hosts); {@link #reconcile} then
 * removes what belongs to no live instance.
 */
public final class BridgeNetwork {
  private static final Logger LOG = LoggerFactory.getLogger(BridgeNetwork.class);

  /** Names the bridge, tables and port prefix this daemon made, so that mode user finds them. */
  static final String NAMES_FILE = "bridge-names";

  private final GuestNetwork network;
  private final Path stateFolder;
  private final Links links;
  private final Firewall firewall;
  private final Dnsmasq dnsmasq;
  private final AddressPool addresses;
  private final Ipv4Forwarding forwarding = new Ipv4Forwarding(Ipv4Forwarding.SYSCTL);
  private final Map<String, DhcpHost> hosts = new LinkedHashMap<>();
  private final NetworkClaim claim;

  private BridgeNetwork(
      GuestNetwork network, Path stateFolder, HostCommands commands, NetworkClaim claim) {
    this.claim = claim;
    this.network = network;
    this.stateFolder = stateFolder;
    this.links = new Links(network, commands);
    this.firewall = new Firewall(network, commands);
    this.dnsmasq = new Dnsmasq(network, stateFolder, commands);
    this.addresses = new AddressPool(network);
  }

  /**
   * Sets the network up, or adopts it: the bridge, the tables (kept with their rules when there),
   * the DHCP hosts of the last daemon and its dnsmasq when still running. {@code stateFolder} holds
   * dnsmasq's files.
   */
  public static BridgeNetwork open(GuestNetwork network, Path stateFolder, HostCommands commands)
      throws NetworkException {
    if (network.mode() != NetworkMode.BRIDGE) {
      throw new IllegalArgumentException(
          "network mode is '"
              + network.mode().settingValue()
              + "': the bridge network is only made in mode 'bridge'");
    }
    NetworkClaim claim = NetworkClaim.take(network, stateFolder);
    BridgeNetwork opened = new BridgeNetwork(network, stateFolder, commands, claim);
    boolean adopting = false;
    try {
      adopting = opened.links.bridgeExists();
      opened.setUp();
    } catch (NetworkException | RuntimeException e) {
      if (!adopting) {
        // Nothing of an earlier daemon's is here: what this start made goes again. An adopted
        // network stays as it was, for the guests that may still use it.
        try {
          opened.shutDown();
        } catch (NetworkException undo) {
          e.addSuppressed(undo);
        }
      }
      claim.close();
      throw e;
    }
    return opened;
  }

  /**
   * For a daemon in mode {@code user}: takes down the bridge network that a daemon in mode {@code
   * bridge} left in the same state folder (its dnsmasq, tables and bridge, all of names {@code
   * network} gives), but only when no guest port is left on it: guests still running keep their
   * network until they end. A state folder without a bridge network's files leaves the host as it
   * is, and so does one whose names differ from {@code network}'s: a bridge some other daemon made
   * is never touched, and neither is one whose names a running daemon holds ({@link NetworkClaim}).
   *
   * @return what happened, for the log; empty when there was nothing of ours
   */
  public static Optional<String> removeLeftover(
      GuestNetwork network, Path stateFolder, HostCommands commands) throws NetworkException {
    Path names = stateFolder.resolve(NAMES_FILE);
    if (!Files.exists(names)) {
      return Optional.empty();
    }
    NetworkClaim claim;
    try {
      claim = NetworkClaim.take(network, stateFolder);
    } catch (NetworkException e) {
      return Optional.of(
          "the bridge network this daemon made in mode bridge is left as it is: " + e.getMessage());
    }
    try (claim) {
      return removeLeftover(new BridgeNetwork(network, stateFolder, commands, claim), names);
    }
  }

  private static Optional<String> removeLeftover(BridgeNetwork left, Path names)
      throws NetworkException {
    GuestNetwork network = left.network;
    String made;
    try {
      made = Files.readString(names, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new NetworkException("cannot read " + names + ": " + e.getMessage(), e);
    }
    if (!made.equals(namesText(network))) {
      return Optional.of(
          "the bridge network this daemon made in mode bridge had other names ("
              + made.strip().replace('\n', ' ')
              + "), so it is left as it is: take it down by hand, or with those settings");
    }
    List<String> ports = left.guestPorts();
    if (!ports.isEmpty()) {
      return Optional.of(
          "the bridge network "
              + network.bridgeName()
              + " that this daemon made in mode bridge is kept while guests use it (ports "
              + String.join(", ", ports)
              + ")");
    }
    left.shutDown();
    return Optional.of(
        "removed the bridge network "
            + network.bridgeName()
            + " (bridge, tables "
            + network.tableName()
            + ", dnsmasq) that this daemon made in mode bridge: no guest uses it");
  }

  private void setUp() throws NetworkException {
    // Checked first: a state folder dnsmasq cannot read must not leave a half-made network.
    dnsmasq.prepareFolder();
    Path names = stateFolder.resolve(NAMES_FILE);
    try {
      Files.writeString(names, namesText(network), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new NetworkException("cannot write " + names + ": " + e.getMessage(), e);
    }
    links.ensureBridge();
    firewall.ensureTables();
    for (DhcpHost host : dnsmasq.readHosts()) {
      addresses.adopt(host.instanceId(), host.address());
      hosts.put(host.instanceId(), host);
    }
    dnsmasq.start(hosts.values());
    LOG.info(
        "guest network: bridge {} at {}, tables {}, dnsmasq {} ({} guests adopted)",
        network.bridgeName(),
        network.hostCidr(),
        network.tableName(),
        dnsmasq.pid(),
        hosts.size());
  }

  public GuestNetwork settings() {
    return network;
  }

  /**
   * A VM's place: an address, the MAC ({@code mac} when the manifest gives one, else derived from
   * the id), a tap on the bridge for QEMU to open, its DHCP entry and its rules.
   */
  public synchronized GuestPort attachVm(
      String instanceId, Optional<MacAddress> mac, int tftpPort, boolean outboundNat)
      throws NetworkException {
    GuestPort port = plan(instanceId, PortKind.TAP, mac);
    attach(port, tftpPort, outboundNat, () -> links.createTap(port));
    return port;
  }

  /**
   * A container's place: a veth whose end becomes eth0 in {@code namespace}, addressed there now
   * ({@link ContainerAddressing#STATIC}) or by the guest's DHCP client, which gets the same
   * address.
   */
  public synchronized GuestPort attachContainer(
      String instanceId,
      GuestNamespace namespace,
      int tftpPort,
      boolean outboundNat,
      ContainerAddressing addressing)
      throws NetworkException {
    GuestPort port = plan(instanceId, PortKind.VETH, Optional.empty());
    attach(
        port,
        tftpPort,
        outboundNat,
        () -> {
          links.createVeth(port, namespace);
          if (addressing == ContainerAddressing.STATIC) {
            links.assignStatic(port, namespace);
          }
        });
    return port;
  }

  /** Removes the guest's rules, port, DHCP entry and address; what is already gone is fine. */
  public synchronized void detach(String instanceId) throws NetworkException {
    GuestRules.requireInstanceId(instanceId);
    firewall.removeGuest(instanceId);
    for (PortKind kind : PortKind.values()) {
      links.delete(GuestPort.interfaceName(network.portPrefix(), kind, instanceId));
    }
    if (hosts.remove(instanceId) != null) {
      dnsmasq.updateHosts(hosts.values());
    }
    addresses.release(instanceId);
  }

  /**
   * Removes every port, rule and DHCP host that belongs to no instance in {@code live}, and keeps
   * those of live instances untouched (their guests keep their network).
   */
  public synchronized ReconcileResult reconcile(Set<String> live) throws NetworkException {
    List<String> removedPorts = new ArrayList<>();
    Set<String> kept = new TreeSet<>();
    for (Links.PortLink link : links.ports()) {
      if (link.instanceId().isPresent() && live.contains(link.instanceId().get())) {
        kept.add(link.instanceId().get());
      } else {
        links.delete(link.name());
        removedPorts.add(link.name());
      }
    }
    Set<String> removedRules = new TreeSet<>();
    for (String id : firewall.instanceIds()) {
      if (live.contains(id)) {
        kept.add(id);
      } else {
        firewall.removeGuest(id);
        removedRules.add(id);
      }
    }
    Set<String> removedHosts = new TreeSet<>(hosts.keySet());
    removedHosts.removeAll(live);
    if (!removedHosts.isEmpty()) {
      hosts.keySet().removeAll(removedHosts);
      removedHosts.forEach(addresses::release);
      dnsmasq.updateHosts(hosts.values());
    }
    kept.addAll(hosts.keySet());
    ReconcileResult result = new ReconcileResult(removedPorts, removedRules, removedHosts, kept);
    if (result.removedAnything()) {
      LOG.info(
          "guest network reconciled: removed ports {}, rules of {}, DHCP hosts of {}; kept {}",
          removedPorts,
          removedRules,
          removedHosts,
          kept);
    }
    return result;
  }

  /**
   * Takes the whole network down: dnsmasq, every port of ours, both tables, the bridge, and the
   * record of their names. A step that fails does not keep the others from being tried (a state
   * folder removed under a stopping daemon must not leave the bridge and tables behind); the first
   * failure is thrown at the end, with the others added to it.
   */
  public synchronized void shutDown() throws NetworkException {
    List<NetworkException> failures = new ArrayList<>();
    attempt(failures, dnsmasq::stop);
    attempt(
        failures,
        () -> {
          for (Links.PortLink link : links.ports()) {
            links.delete(link.name());
          }
        });
    attempt(failures, firewall::deleteTables);
    attempt(failures, links::deleteBridge);
    hosts.clear();
    Path names = stateFolder.resolve(NAMES_FILE);
    attempt(
        failures,
        () -> {
          try {
            Files.deleteIfExists(names);
          } catch (IOException e) {
            throw new NetworkException("cannot remove " + names + ": " + e.getMessage(), e);
          }
        });
    claim.close();
    if (!failures.isEmpty()) {
      NetworkException first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      throw first;
    }
  }

  private interface Step {
    void run() throws NetworkException;
  }

  private static void attempt(List<NetworkException> failures, Step step) {
    try {
      step.run();
    } catch (NetworkException e) {
      failures.add(e);
    }
  }

  /**
   * Lets go of the network's names ({@link NetworkClaim}) and leaves the network up for the guests
   * still on it: a daemon that stops with guests running calls this, and the next daemon adopts the
   * network.
   */
  public void close() {
    claim.close();
  }

  /** The names of the guest ports (taps, veths) of ours that exist now, whoever's they are. */
  public List<String> guestPorts() throws NetworkException {
    List<String> ports = new ArrayList<>();
    for (Links.PortLink link : links.ports()) {
      ports.add(link.name());
    }
    return ports;
  }

  /** The address held by an instance, e.g. to show it or to hand it to a container. */
  public Optional<Inet4Address> addressOf(String instanceId) {
    return addresses.addressOf(instanceId);
  }

  public Firewall firewall() {
    return firewall;
  }

  public Links links() {
    return links;
  }

  public Dnsmasq dnsmasq() {
    return dnsmasq;
  }

  private GuestPort plan(String instanceId, PortKind kind, Optional<MacAddress> mac)
      throws NetworkException {
    GuestRules.requireInstanceId(instanceId);
    MacAddress chosen = mac.orElseGet(() -> MacAddress.forInstance(instanceId));
    for (DhcpHost host : hosts.values()) {
      // Two guests with one MAC would get each other's address and frames: refuse the second.
      if (host.mac().equals(chosen) && !host.instanceId().equals(instanceId)) {
        throw new NetworkException(
            "instance "
                + instanceId
                + ": MAC "
                + chosen
                + " is already used by instance "
                + host.instanceId());
      }
    }
    Inet4Address address = addresses.assign(instanceId);
    return new GuestPort(
        instanceId,
        kind,
        GuestPort.interfaceName(network.portPrefix(), kind, instanceId),
        chosen,
        address);
  }

  private void attach(GuestPort port, int tftpPort, boolean outboundNat, PortMaker maker)
      throws NetworkException {
    GuestRules rules = new GuestRules(port, tftpPort, outboundNat);
    String id = port.instanceId();
    try {
      if (outboundNat) {
        forwarding.ensureOn();
      }
      hosts.put(id, new DhcpHost(id, port.mac(), port.address()));
      dnsmasq.updateHosts(hosts.values());
      maker.make();
      firewall.addGuest(rules);
    } catch (NetworkException | RuntimeException e) {
      try {
        detach(id);
      } catch (NetworkException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  private static String namesText(GuestNetwork network) {
    return "bridge "
        + network.bridgeName()
        + "\ntables "
        + network.tableName()
        + "\nports "
        + network.portPrefix()
        + "\n";
  }

  @FunctionalInterface
  private interface PortMaker {
    void make() throws NetworkException;
  }
}
