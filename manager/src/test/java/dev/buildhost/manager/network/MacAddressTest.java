package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MacAddressTest {

  @Test
  void anInstanceAlwaysGetsTheSameLocallyAdministeredUnicastMac() {
    MacAddress mac = MacAddress.forInstance("sample-vm-20261201-134500-ab12");
    assertEquals(mac, MacAddress.forInstance("sample-vm-20261201-134500-ab12"));
    assertNotEquals(mac, MacAddress.forInstance("sample-vm-20261201-134500-ab13"));
    int first = Integer.parseInt(mac.text().substring(0, 2), 16);
    assertEquals(0x02, first & 0x03, "locally administered, unicast: " + mac);
  }

  @Test
  void aGivenMacIsNormalisedAndBadOnesAreRefusedWithWhere() {
    assertEquals("52:54:00:ab:cd:ef", MacAddress.parse(" 52:54:00:AB:CD:EF ", "machine x").text());
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> MacAddress.parse("52-54-00-ab-cd-ef", "machine x"))
            .getMessage()
            .startsWith("machine x: MAC address '52-54-00-ab-cd-ef'"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> MacAddress.parse("01:00:5e:00:00:01", "m"))
            .getMessage()
            .contains("multicast"));
    assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("00:00:00:00:00:00", "m"));
    assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(null, "m"));
  }

  @Test
  void portNamesFitLinuxAndFollowFromTheId() {
    String name = GuestPort.interfaceName("bh", PortKind.TAP, "sample-vm-20261201-134500-ab12");
    assertTrue(name.matches("bht[0-9a-f]{8}"), name);
    assertEquals(
        name, GuestPort.interfaceName("bh", PortKind.TAP, "sample-vm-20261201-134500-ab12"));
    String veth = GuestPort.interfaceName("abcd", PortKind.VETH, "x");
    assertTrue((veth + "p").length() <= 15, veth);
  }
}
