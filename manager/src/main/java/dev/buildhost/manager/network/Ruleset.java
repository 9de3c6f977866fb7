package dev.buildhost.manager.network;

import java.util.List;
import java.util.StringJoiner;

/**
 * Writes the nftables scripts of the guest network: two tables of buildhost's own (family {@code
 * bridge} and family {@code inet}, both named {@link GuestNetwork#tableName()}), whose base rules
 * deny guests everything, and per-guest rules, each commented {@code instance ID}, that let one
 * guest use its own address, its DHCP and its own TFTP server. Every guest may ask the daemon's
 * dnsmasq for names (DNS on the host address), which answers only the names it knows. Every script
 * is applied with one {@code nft -f}, so it takes effect whole or not at all. Pure text: the
 * firewall class runs it.
 */
public final class Ruleset {
  /** Prefix of the comment on every per-guest rule; reconciliation reads the id back from it. */
  public static final String COMMENT_PREFIX = "instance ";

  static final String PORTS_CHAIN = "guest_ports";
  static final String ISOLATION_CHAIN = "guest_isolation";
  static final String DNAT_CHAIN = "guest_tftp_dnat";
  static final String HOST_CHAIN = "guest_to_host";
  static final String FORWARD_CHAIN = "guest_forward";
  static final String MASQUERADE_CHAIN = "guest_masquerade";
  static final String NOT_OUTSIDE_SET = "not_outside";

  /**
   * Where NATed guests may never go: this-network, private (RFC 1918), shared (RFC 6598), loopback,
   * link-local, multicast and reserved; the guest subnet is added per network.
   */
  static final List<String> NOT_OUTSIDE =
      List.of(
          "0.0.0.0/8",
          "10.0.0.0/8",
          "100.64.0.0/10",
          "127.0.0.0/8",
          "169.254.0.0/16",
          "172.16.0.0/12",
          "192.168.0.0/16",
          "224.0.0.0/3");

  private final GuestNetwork network;

  public Ruleset(GuestNetwork network) {
    this.network = network;
  }

  /**
   * One chain of our tables: its family, name, hook declaration and base rules, in order. The
   * per-guest rules are inserted ahead of the base rules.
   */
  record BaseChain(String family, String name, String declaration, List<String> rules) {}

  /** The chains of both tables with their base rules, which deny guests everything by default. */
  List<BaseChain> baseChains() {
    String bridge = quote(network.bridgeName());
    String ports = quote(network.portWildcard());
    String host = Ipv4.text(network.hostAddress());
    return List.of(
        new BaseChain(
            "bridge",
            PORTS_CHAIN,
            "type filter hook prerouting priority -200; policy accept;",
            List.of(
                "iifname != " + ports + " accept comment \"not a guest port of ours\"",
                "counter drop comment \"a frame whose port, MAC or address is not one guest's"
                    + " own\"")),
        new BaseChain(
            "bridge",
            ISOLATION_CHAIN,
            "type filter hook forward priority 0; policy accept;",
            List.of(
                "iifname " + ports + " counter drop comment \"guests never reach each other\"")),
        new BaseChain(
            "inet",
            DNAT_CHAIN,
            "type nat hook prerouting priority dstnat; policy accept;",
            List.of()),
        new BaseChain(
            "inet",
            HOST_CHAIN,
            "type filter hook input priority filter; policy accept;",
            List.of(
                "iifname != " + bridge + " accept comment \"not from the guest bridge\"",
                "ct state established,related accept",
                "ct status dnat ct original ip daddr "
                    + host
                    + " meta l4proto udp ct original proto-dst 69 accept comment \"TFTP to 69,"
                    + " sent to the guest's own server\"",
                "udp sport 68 udp dport 67 accept comment \"DHCP\"",
                "ip daddr "
                    + host
                    + " meta l4proto { udp, tcp } th dport 53 accept comment \"DNS: the daemon's"
                    + " dnsmasq, local names only\"",
                "counter drop comment \"guests reach no other host service\"")),
        new BaseChain(
            "inet",
            FORWARD_CHAIN,
            "type filter hook forward priority filter; policy accept;",
            List.of(
                "oifname "
                    + bridge
                    + " ct state established,related accept comment \"answers to NATed guests\"",
                "iifname "
                    + bridge
                    + " counter drop comment \"guests go nowhere unless allowed"
                    + " above\"",
                "oifname "
                    + bridge
                    + " counter drop comment \"nothing outside opens a connection to a guest\"")),
        new BaseChain(
            "inet",
            MASQUERADE_CHAIN,
            "type nat hook postrouting priority srcnat; policy accept;",
            List.of()));
  }

  /** The elements of {@link #NOT_OUTSIDE_SET}: {@link #NOT_OUTSIDE} and the guest subnet. */
  private String notOutside() {
    StringJoiner notOutside = new StringJoiner(", ");
    NOT_OUTSIDE.forEach(notOutside::add);
    notOutside.add(network.subnet());
    return notOutside.toString();
  }

  /** Creates both tables with their base rules; run only when they do not exist yet. */
  public String tables() {
    StringBuilder script = new StringBuilder();
    for (String family : List.of("bridge", "inet")) {
      script.append("table ").append(family).append(' ').append(network.tableName()).append(" {\n");
      if (family.equals("inet")) {
        script
            .append("  set ")
            .append(NOT_OUTSIDE_SET)
            .append(" {\n    type ipv4_addr; flags interval;\n    elements = { ")
            .append(notOutside())
            .append(" }\n  }\n");
      }
      for (BaseChain chain : baseChains()) {
        if (!chain.family().equals(family)) {
          continue;
        }
        script.append("  chain ").append(chain.name()).append(" {\n");
        script.append("    ").append(chain.declaration()).append('\n');
        chain.rules().forEach(rule -> script.append("    ").append(rule).append('\n'));
        script.append("  }\n");
      }
      script.append("}\n");
    }
    return script.toString();
  }

  /**
   * Brings adopted tables, which an older daemon may have written with other base rules, to the
   * current ones, in one transaction that keeps every per-guest rule: the chains and the set are
   * made where missing, the set's elements replaced, the old base rules ({@code oldBaseRules},
   * every rule without an instance's comment) deleted by handle and the current ones appended
   * behind the per-guest rules, which are always inserted at the front.
   */
  public String refreshBase(List<FirewallRule> oldBaseRules) {
    String table = network.tableName();
    StringBuilder script = new StringBuilder();
    for (BaseChain chain : baseChains()) {
      script
          .append("add chain ")
          .append(chain.family())
          .append(' ')
          .append(table)
          .append(' ')
          .append(chain.name())
          .append(" { ")
          .append(chain.declaration())
          .append(" }\n");
    }
    String set = "inet " + table + " " + NOT_OUTSIDE_SET;
    script.append("add set ").append(set).append(" { type ipv4_addr; flags interval; }\n");
    script.append("flush set ").append(set).append('\n');
    script.append("add element ").append(set).append(" { ").append(notOutside()).append(" }\n");
    script.append(deleteRules(oldBaseRules));
    for (BaseChain chain : baseChains()) {
      for (String rule : chain.rules()) {
        script
            .append("add rule ")
            .append(chain.family())
            .append(' ')
            .append(table)
            .append(' ')
            .append(chain.name())
            .append(' ')
            .append(rule)
            .append('\n');
      }
    }
    return script.toString();
  }

  /** Removes both tables (the daemon's network is taken down). */
  public String deleteTables() {
    return "delete table bridge "
        + network.tableName()
        + "\ndelete table inet "
        + network.tableName()
        + "\n";
  }

  /**
   * One guest's rules, inserted ahead of the base drops: frames from its port with its MAC and
   * address (or the DHCP and ARP probes that precede an address), and its TFTP DNAT; with outbound
   * NAT, forwarding to addresses outside {@link #NOT_OUTSIDE} and masquerading.
   */
  public String addGuest(GuestRules guest) {
    GuestPort port = guest.port();
    String table = network.tableName();
    String comment = " comment " + quote(COMMENT_PREFIX + port.instanceId());
    String iif = "iifname " + quote(port.interfaceName()) + " ether saddr " + port.mac();
    String address = port.addressText();
    String host = Ipv4.text(network.hostAddress());
    String bridge = quote(network.bridgeName());
    StringBuilder script = new StringBuilder();
    String bridgeRule = "insert rule bridge " + table + " " + PORTS_CHAIN + " ";
    script
        .append(bridgeRule)
        .append(iif)
        .append(" ip saddr ")
        .append(address)
        .append(" accept")
        .append(comment)
        .append('\n');
    script
        .append(bridgeRule)
        .append(iif)
        .append(" ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept")
        .append(comment)
        .append('\n');
    script
        .append(bridgeRule)
        .append(iif)
        .append(" arp saddr ether ")
        .append(port.mac())
        .append(" arp saddr ip { 0.0.0.0, ")
        .append(address)
        .append(" } accept")
        .append(comment)
        .append('\n');
    script
        .append("insert rule inet ")
        .append(table)
        .append(' ')
        .append(DNAT_CHAIN)
        .append(" iifname ")
        .append(bridge)
        .append(" ip saddr ")
        .append(address)
        .append(" ip daddr ")
        .append(host)
        .append(" udp dport 69 dnat ip to ")
        .append(host)
        .append(':')
        .append(guest.tftpPort())
        .append(comment)
        .append('\n');
    if (guest.outboundNat()) {
      script
          .append("insert rule inet ")
          .append(table)
          .append(' ')
          .append(FORWARD_CHAIN)
          .append(" iifname ")
          .append(bridge)
          .append(" oifname != ")
          .append(bridge)
          .append(" ip saddr ")
          .append(address)
          .append(" ip daddr != @")
          .append(NOT_OUTSIDE_SET)
          .append(" accept")
          .append(comment)
          .append('\n');
      script
          .append("insert rule inet ")
          .append(table)
          .append(' ')
          .append(MASQUERADE_CHAIN)
          .append(" iifname ")
          .append(bridge)
          .append(" oifname != ")
          .append(bridge)
          .append(" ip saddr ")
          .append(address)
          .append(" masquerade")
          .append(comment)
          .append('\n');
    }
    return script.toString();
  }

  /** Deletes the given rules by handle, in one transaction. */
  public String deleteRules(List<FirewallRule> rules) {
    StringBuilder script = new StringBuilder();
    for (FirewallRule rule : rules) {
      script
          .append("delete rule ")
          .append(rule.family())
          .append(' ')
          .append(network.tableName())
          .append(' ')
          .append(rule.chain())
          .append(" handle ")
          .append(rule.handle())
          .append('\n');
    }
    return script.toString();
  }

  private static String quote(String text) {
    return '"' + text + '"';
  }
}
