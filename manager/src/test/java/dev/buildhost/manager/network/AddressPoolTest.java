package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AddressPoolTest {
  private final GuestNetwork network =
      GuestNetwork.of("bridge", "b0", "10.9.0.1", 24, "10.9.0.10", "10.9.0.12", "t", "bh", false);

  @Test
  void lowestFreeFirstOnePerInstanceAndReleasedAddressesComeBack() throws Exception {
    AddressPool pool = new AddressPool(network);
    assertEquals("10.9.0.10", pool.assign("a").getHostAddress());
    assertEquals("10.9.0.10", pool.assign("a").getHostAddress(), "an instance keeps its address");
    assertEquals("10.9.0.11", pool.assign("b").getHostAddress());
    assertEquals("10.9.0.12", pool.assign("c").getHostAddress());
    NetworkException full = assertThrows(NetworkException.class, () -> pool.assign("d"));
    assertTrue(
        full.getMessage()
            .contains("no guest address is free in 10.9.0.10-10.9.0.12 for instance d"));
    pool.release("b");
    assertEquals("10.9.0.11", pool.assign("d").getHostAddress());
  }

  @Test
  void adoptionRefusesOutsideAddressesAndDoubleHolders() throws Exception {
    AddressPool pool = new AddressPool(network);
    pool.adopt("a", Ipv4.parse("10.9.0.11", "x"));
    assertEquals("10.9.0.10", pool.assign("b").getHostAddress());
    assertEquals("10.9.0.12", pool.assign("c").getHostAddress());
    assertTrue(
        assertThrows(NetworkException.class, () -> pool.adopt("d", Ipv4.parse("10.9.0.11", "x")))
            .getMessage()
            .contains("both hold 10.9.0.11"));
    assertTrue(
        assertThrows(NetworkException.class, () -> pool.adopt("e", Ipv4.parse("10.9.0.99", "x")))
            .getMessage()
            .contains("outside the guest range"));
  }
}
