package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Ipv4ForwardingTest {
  @TempDir Path folder;

  @Test
  void turnsForwardingOnOnceAndLeavesItOn() throws Exception {
    Path sysctl = Files.writeString(folder.resolve("ip_forward"), "0\n");
    Ipv4Forwarding forwarding = new Ipv4Forwarding(sysctl);
    assertTrue(forwarding.ensureOn(), "it was off");
    assertEquals("1\n", Files.readString(sysctl));
    assertFalse(forwarding.ensureOn(), "on already: nothing written");
    assertEquals("1\n", Files.readString(sysctl));
  }

  @Test
  void aSwitchThatCannotBeSetNamesTheSysctlAndTheFix() {
    Ipv4Forwarding forwarding = new Ipv4Forwarding(folder.resolve("missing/ip_forward"));
    NetworkException e = assertThrows(NetworkException.class, forwarding::ensureOn);
    assertTrue(e.getMessage().contains("net.ipv4.ip_forward cannot be turned on"), e.getMessage());
    assertTrue(e.getMessage().contains("missing/ip_forward"), e.getMessage());
    assertTrue(e.getMessage().contains("/etc/sysctl.d/"), e.getMessage());
  }
}
