package dev.buildhost.manager.tftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TftpPortPoolTest {
  @Test
  void portsAreHandedOutRoundRobinAndAReleasedPortIsReusedLast() {
    TftpPortPool pool = new TftpPortPool(10000, 10002);
    assertEquals(10000, pool.hold());
    assertEquals(10001, pool.hold());
    pool.release(10000);
    assertEquals(10002, pool.hold());
    assertEquals(10000, pool.hold());
    assertEquals(-1, pool.hold(), "every port is held");
    assertEquals(3, pool.heldCount());
  }

  @Test
  void aGivenPortCanBeHeldOnceAndOnlyInsideTheRange() {
    TftpPortPool pool = new TftpPortPool(10000, 10009);
    assertTrue(pool.hold(10005));
    assertFalse(pool.hold(10005));
    assertFalse(pool.hold(9999));
    assertFalse(pool.hold(10010));
    assertTrue(pool.isHeld(10005));
    pool.release(10005);
    assertFalse(pool.isHeld(10005));
    pool.release(12345);
  }

  @Test
  void badRangesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new TftpPortPool(10, 9));
    assertThrows(IllegalArgumentException.class, () -> new TftpPortPool(0, 9));
    assertThrows(IllegalArgumentException.class, () -> new TftpPortPool(65535, 65536));
    assertEquals(1, new TftpPortPool(65535, 65535).size());
  }
}
