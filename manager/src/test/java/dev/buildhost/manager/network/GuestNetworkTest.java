package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GuestNetworkTest {

  private static GuestNetwork of(
      String mode,
      String bridge,
      String host,
      int prefix,
      String first,
      String last,
      String table,
      String portPrefix) {
    return GuestNetwork.of(mode, bridge, host, prefix, first, last, table, portPrefix, false);
  }

  private static String refused(
      String mode,
      String bridge,
      String host,
      int prefix,
      String first,
      String last,
      String table,
      String portPrefix) {
    return assertThrows(
            IllegalArgumentException.class,
            () -> of(mode, bridge, host, prefix, first, last, table, portPrefix))
        .getMessage();
  }

  @Test
  void theDefaultsAreBbotsAddressOnBuildhost0WithoutNat() {
    GuestNetwork network = GuestNetwork.defaults();
    assertEquals(NetworkMode.BRIDGE, network.mode());
    assertEquals("buildhost0", network.bridgeName());
    assertEquals("196.254.111.222/24", network.hostCidr());
    assertEquals("196.254.111.0/24", network.subnet());
    assertEquals("255.255.255.0", network.netmask());
    assertEquals("buildhost", network.tableName());
    assertEquals("bh*", network.portWildcard());
    assertEquals(false, network.outboundNatDefault());
  }

  @Test
  void everyBadSettingIsNamedInItsError() {
    String ok = "196.254.111.222";
    assertTrue(
        refused("bridged", "b0", ok, 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("network mode 'bridged'"));
    assertTrue(
        refused("bridge", "a/b", ok, 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("network bridge 'a/b'"));
    assertTrue(
        refused("bridge", "sixteen-chars-xx", ok, 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("network bridge"));
    assertTrue(
        refused("bridge", "b0", "host.example", 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("network host address 'host.example' is not an IPv4 address"));
    assertTrue(
        refused(
                "bridge",
                "b0",
                "196.254.111.256",
                24,
                "196.254.111.10",
                "196.254.111.20",
                "t",
                "bh")
            .contains("'196.254.111.256'"));
    assertTrue(
        refused("bridge", "b0", ok, 31, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("prefix length 31"));
    assertTrue(
        refused("bridge", "b0", "196.254.111.0", 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("network or broadcast"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.112.10", "196.254.112.20", "t", "bh")
            .contains("is not inside 196.254.111.0/24"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.111.20", "196.254.111.10", "t", "bh")
            .contains("ends before it starts"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.111.200", "196.254.111.230", "t", "bh")
            .contains("includes the host address 196.254.111.222"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.111.0", "196.254.111.20", "t", "bh")
            .contains("network or broadcast"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.111.10", "196.254.111.20", "bad name", "bh")
            .contains("network table 'bad name'"));
    assertTrue(
        refused("bridge", "b0", ok, 24, "196.254.111.10", "196.254.111.20", "t", "toolong")
            .contains("network port prefix 'toolong'"));
    assertTrue(
        refused("bridge", "bh0", ok, 24, "196.254.111.10", "196.254.111.20", "t", "bh")
            .contains("starts with the port prefix"));
  }

  @Test
  void aRangeIsCheckedInclusively() {
    GuestNetwork network = of("user", "b0", "10.1.2.1", 29, "10.1.2.2", "10.1.2.6", "t", "bh");
    assertEquals(NetworkMode.USER, network.mode());
    assertTrue(network.inRange(Ipv4.parse("10.1.2.2", "a")));
    assertTrue(network.inRange(Ipv4.parse("10.1.2.6", "a")));
    assertEquals(false, network.inRange(Ipv4.parse("10.1.2.7", "a")));
  }

  @Test
  void userModeIsTheFallbackAndNeverMakesABridge() {
    GuestNetwork user =
        of("user", "b0", "196.254.111.222", 24, "196.254.111.10", "196.254.111.20", "t", "bh");
    assertEquals("user", user.mode().settingValue());
    HostCommands refusing =
        new HostCommands() {
          @Override
          public Result execute(String what, java.util.List<String> command, String input) {
            throw new AssertionError("user mode ran " + command);
          }
        };
    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class,
            () -> BridgeNetwork.open(user, java.nio.file.Path.of("/nonexistent"), refusing));
    assertEquals(
        "network mode is 'user': the bridge network is only made in mode 'bridge'",
        refused.getMessage());
  }
}
