package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The generated text; BridgeNetworkIT loads it into the real kernel and sends traffic through it.
 */
class RulesetTest {
  private final GuestNetwork network = GuestNetwork.defaults();
  private final Ruleset ruleset = new Ruleset(network);

  private GuestRules guest(String id, String address, int tftpPort, boolean nat) {
    GuestPort port =
        new GuestPort(
            id,
            PortKind.TAP,
            GuestPort.interfaceName("bh", PortKind.TAP, id),
            MacAddress.forInstance(id),
            Ipv4.parse(address, "a"));
    return new GuestRules(port, tftpPort, nat);
  }

  @Test
  void theBaseTablesMatchOnlyOurPortsAndBridgeAndEndInDrops() {
    String tables = ruleset.tables();
    assertTrue(tables.contains("table bridge buildhost {"));
    assertTrue(tables.contains("table inet buildhost {"));
    assertTrue(tables.contains("iifname != \"bh*\" accept"));
    assertTrue(tables.contains("iifname != \"buildhost0\" accept"));
    assertTrue(
        tables.contains(
            "ct original ip daddr 196.254.111.222 meta l4proto udp ct original proto-dst 69"));
    assertTrue(
        tables.contains(
            "10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
                + "192.168.0.0/16, 224.0.0.0/3, 196.254.111.0/24"));
    assertTrue(
        tables.contains("ip daddr 196.254.111.222 meta l4proto { udp, tcp } th dport 53 accept"),
        "DNS to the host address only");
    assertTrue(tables.contains("counter drop comment \"guests reach no other host service\""));
    assertEquals(
        "delete table bridge buildhost\ndelete table inet buildhost\n", ruleset.deleteTables());
  }

  @Test
  void aGuestWithoutNatGetsItsPortMacAddressAndTftpAndNothingMore() {
    GuestRules rules = guest("vm-1", "196.254.111.10", 10001, false);
    String port = rules.port().interfaceName();
    String mac = rules.port().mac().text();
    String script = ruleset.addGuest(rules);
    assertTrue(
        script.contains(
            "insert rule bridge buildhost guest_ports iifname \""
                + port
                + "\" ether saddr "
                + mac
                + " ip saddr 196.254.111.10 accept comment \"instance vm-1\""),
        script);
    assertTrue(
        script.contains(
            "arp saddr ether " + mac + " arp saddr ip { 0.0.0.0, 196.254.111.10 } accept"));
    assertTrue(
        script.contains(
            "insert rule inet buildhost guest_tftp_dnat iifname \"buildhost0\" ip saddr "
                + "196.254.111.10 ip daddr 196.254.111.222 udp dport 69 dnat ip to 196.254.111.222:10001 "
                + "comment \"instance vm-1\""),
        script);
    assertFalse(script.contains("masquerade"));
    assertFalse(script.contains("guest_forward"));
    assertEquals(4, script.lines().count());
  }

  @Test
  void aGuestWithNatIsForwardedOnlyOutsideThePrivateRanges() {
    String script = ruleset.addGuest(guest("vm-2", "196.254.111.11", 10002, true));
    assertTrue(
        script.contains(
            "insert rule inet buildhost guest_forward iifname \"buildhost0\" oifname != "
                + "\"buildhost0\" ip saddr 196.254.111.11 ip daddr != @not_outside accept comment \"instance vm-2\""),
        script);
    assertTrue(
        script.contains(
            "guest_masquerade iifname \"buildhost0\" oifname != \"buildhost0\" ip saddr "
                + "196.254.111.11 masquerade comment \"instance vm-2\""),
        script);
  }

  @Test
  void adoptedTablesGetTheCurrentBaseRulesBehindTheGuestsInOneScript() {
    String script =
        ruleset.refreshBase(
            List.of(
                new FirewallRule("inet", "guest_to_host", 12, ""),
                new FirewallRule("bridge", "guest_ports", 4, "")));
    List<String> lines = script.lines().toList();
    assertTrue(
        lines.contains(
            "add chain inet buildhost guest_to_host { type filter hook input priority filter;"
                + " policy accept; }"),
        script);
    assertTrue(lines.contains("flush set inet buildhost not_outside"), script);
    int deleted = lines.indexOf("delete rule inet buildhost guest_to_host handle 12");
    assertTrue(deleted >= 0, script);
    assertTrue(lines.contains("delete rule bridge buildhost guest_ports handle 4"), script);
    int dns =
        lines.indexOf(
            "add rule inet buildhost guest_to_host ip daddr 196.254.111.222 meta l4proto { udp,"
                + " tcp } th dport 53 accept comment \"DNS: the daemon's dnsmasq, local names"
                + " only\"");
    assertTrue(dns > deleted, "old base rules go before the current ones are appended: " + script);
    assertFalse(script.contains("insert rule"), "appended, behind the guests' inserted rules");
    assertFalse(script.contains("instance "), "no guest's rule is touched");
  }

  @Test
  void rulesAreDeletedByHandleAndBadGuestsAreRefused() {
    assertEquals(
        "delete rule inet buildhost guest_tftp_dnat handle 7\ndelete rule bridge buildhost guest_ports handle 3\n",
        ruleset.deleteRules(
            List.of(
                new FirewallRule("inet", "guest_tftp_dnat", 7, "a"),
                new FirewallRule("bridge", "guest_ports", 3, "a"))));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> guest("a\"; flush ruleset", "196.254.111.10", 1, false))
            .getMessage()
            .contains("instance id"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> guest("a", "196.254.111.10", 70000, false))
            .getMessage()
            .contains("TFTP port 70000"));
  }
}
