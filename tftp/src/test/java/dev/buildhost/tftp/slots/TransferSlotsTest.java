package dev.buildhost.tftp.slots;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransferSlotsTest {
  static final InetAddress REAL = address(1);
  static final InetAddress FLOOD = address(2);

  static InetAddress address(int last) {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /** Admits {@code transfer}; returns the transfer it evicted, or null. */
  private static String admitted(TransferSlots<String> slots, InetAddress client, String transfer) {
    TransferSlots.Admission<String> a = slots.admit(client, transfer);
    if (a instanceof TransferSlots.Admitted<String> admitted) {
      return admitted.evicted();
    }
    throw new AssertionError(transfer + " was not admitted: " + a);
  }

  private static String refused(TransferSlots<String> slots, InetAddress client, String transfer) {
    return assertInstanceOf(TransferSlots.Refused.class, slots.admit(client, transfer)).reason();
  }

  @Test
  void oneAddressFloodingWithoutAcknowledgingHoldsOnlyItsShare() {
    TransferSlots<String> slots = new TransferSlots<>(8, 4);
    for (int i = 0; i < 4; i++) {
      assertNull(admitted(slots, FLOOD, "flood-" + i));
    }
    for (int i = 4;
        i < 100;
        i++) { // at its cap: refused, cheaply (no transfer is started or stopped)
      assertEquals(
          "too many concurrent transfers from 127.0.0.2 (4), try again later",
          refused(slots, FLOOD, "flood-" + i));
    }
    assertEquals(4, slots.heldBy(FLOOD));
    for (int i = 0; i < 4; i++) {
      assertNull(
          admitted(slots, REAL, "real-" + i), "the other half of the slots stays free for others");
    }
    assertTrue(slots.acknowledged("real-0"));
    assertEquals(7, slots.unacknowledged());
  }

  @Test
  void aFloodFromManyAddressesEvictsItsOwnRequestsNotARealClients() {
    TransferSlots<String> slots = new TransferSlots<>(8, 4);
    List<String> evicted = new ArrayList<>();
    int refusedCount = 0;
    assertNull(
        admitted(slots, REAL, "real-1")); // not acknowledged yet: the client is still answering
    for (int i = 0; i < 200; i++) {
      TransferSlots.Admission<String> a = slots.admit(address(2 + i % 5), "flood-" + i);
      if (a instanceof TransferSlots.Admitted<String> admitted && admitted.evicted() != null) {
        evicted.add(admitted.evicted());
      } else if (a instanceof TransferSlots.Refused) {
        refusedCount++;
      }
    }
    assertFalse(evicted.contains("real-1"), "evicted: " + evicted);
    assertTrue(
        evicted.isEmpty(), "the flood's addresses do not take slots from each other: " + evicted);
    assertEquals(193, refusedCount, "once the slots are full, the flood is refused, cheaply");
    assertTrue(slots.acknowledged("real-1"));
    String second =
        admitted(
            slots, REAL, "real-2"); // REAL waits for nothing now: it gets a flood request's slot
    assertTrue(second != null && second.startsWith("flood-"), "evicted " + second);
    assertEquals(2, slots.heldBy(REAL));
    assertTrue(slots.acknowledged("real-2"));
    assertEquals(8, slots.held());
  }

  @Test
  void anAddressWaitingForOneAnswerTakesOnlyFromAnAddressWaitingForThree() {
    TransferSlots<String> slots = new TransferSlots<>(4, 4);
    admitted(slots, REAL, "real");
    admitted(slots, FLOOD, "f1");
    admitted(slots, FLOOD, "f2");
    admitted(slots, address(3), "g1");
    assertEquals(
        "too many concurrent transfers (4), try again later", refused(slots, REAL, "real-2"));
    slots.release("g1");
    admitted(slots, FLOOD, "f3");
    assertEquals("f1", admitted(slots, REAL, "real-2"));
  }

  @Test
  void ofEquallyLoadedAddressesTheOneWaitingLongestGivesWay() {
    TransferSlots<String> slots = new TransferSlots<>(4, 2);
    admitted(slots, address(2), "a1");
    admitted(slots, address(3), "b1");
    admitted(slots, address(2), "a2");
    admitted(slots, address(3), "b2");
    assertEquals("a1", admitted(slots, REAL, "real"));
    assertEquals(
        "b1", admitted(slots, address(4), "c1"), "address 3 holds 2, more than address 2 now");
    assertEquals(
        "too many concurrent transfers (4), try again later",
        refused(slots, address(2), "a3"),
        "address 2 would only take from an address holding no more than itself");
  }

  @Test
  void acknowledgedTransfersAreNeverEvictedAndFullSlotsAreRefused() {
    TransferSlots<String> slots = new TransferSlots<>(4, 2);
    for (int i = 0; i < 4; i++) {
      InetAddress client = address(2 + i);
      assertNull(admitted(slots, client, "t" + i));
      assertTrue(slots.acknowledged("t" + i));
    }
    assertEquals(
        "too many concurrent transfers (4), try again later", refused(slots, REAL, "late"));
    slots.release("t0");
    assertNull(admitted(slots, REAL, "late"));
  }

  @Test
  void anAddressAtItsCapWithOnlyAcknowledgedTransfersIsRefused() {
    TransferSlots<String> slots = new TransferSlots<>(8, 2);
    admitted(slots, FLOOD, "a");
    admitted(slots, FLOOD, "b");
    slots.acknowledged("a");
    slots.acknowledged("b");
    String reason = refused(slots, FLOOD, "c");
    assertTrue(reason.contains("from 127.0.0.2 (2)"), reason);
    assertNull(admitted(slots, REAL, "d"));
  }

  @Test
  void anEvictedTransferCannotAcknowledgeAndItsReleaseChangesNothing() {
    TransferSlots<String> slots = new TransferSlots<>(2, 2);
    admitted(slots, FLOOD, "old");
    admitted(slots, FLOOD, "older");
    assertEquals("old", admitted(slots, REAL, "new"));
    assertFalse(slots.acknowledged("old"));
    slots.release("old");
    assertEquals(2, slots.held());
    assertTrue(slots.acknowledged("new"));
    slots.release("new");
    slots.release("older");
    assertEquals(0, slots.held());
    assertEquals(0, slots.heldBy(FLOOD));
    assertEquals(0, slots.heldBy(REAL));
  }

  @Test
  void limitsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> new TransferSlots<String>(0, 1));
    assertThrows(IllegalArgumentException.class, () -> new TransferSlots<String>(4, 0));
    assertThrows(IllegalArgumentException.class, () -> new TransferSlots<String>(4, 5));
    TransferSlots<String> slots = new TransferSlots<>(4, 4);
    slots.admit(REAL, "x");
    assertThrows(IllegalArgumentException.class, () -> slots.admit(REAL, "x"));
  }
}
