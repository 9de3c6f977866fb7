package dev.buildhost.client.wire;

import java.time.Instant;
import java.util.List;

/**
 * The fleet's reboot slots as {@code GET /v1/fleet/reboots} shows them (from {@code
 * /buildhost/<fleet>/reboots/} in etcd): who holds a slot, who waits, and how many may reboot at
 * once.
 *
 * @param slots how many hosts may reboot at once (this daemon's {@code fleet_reboot_slots})
 * @param slotTimeoutSeconds when a slot whose host has not come back is freed ({@code
 *     fleet_slot_timeout})
 * @param holders the hosts holding a slot, oldest first
 * @param waiters the hosts waiting for one, in the order they get it
 */
public record FleetRebootsView(
    int slots, long slotTimeoutSeconds, List<Holder> holders, List<Waiter> waiters) {

  public FleetRebootsView {
    holders = holders == null ? List.of() : List.copyOf(holders);
    waiters = waiters == null ? List.of() : List.copyOf(waiters);
  }

  /** Where a slot's holder is: draining its builds, or past its reboot command. */
  public enum Phase {
    DRAINING,
    REBOOTING
  }

  /**
   * A host holding a reboot slot.
   *
   * @param host the host's name in the fleet
   * @param since when it took the slot (its clock)
   * @param phase draining until its reboot command runs, then rebooting until it is back
   * @param reason why it reboots
   * @param bootId its boot id when it took the slot: it is back once it runs under another one
   * @param drainUntil when its drain ends at the latest
   * @param rebootingSince when its reboot command ran, null while it drains
   * @param expiresAt when the next host asking for a slot frees this one if it has not come back
   */
  public record Holder(
      String host,
      Instant since,
      Phase phase,
      String reason,
      String bootId,
      Instant drainUntil,
      Instant rebootingSince,
      Instant expiresAt) {}

  /**
   * A host waiting for a slot while it goes on building.
   *
   * @param host the host's name in the fleet
   * @param position its place in the queue, 1 for the next to get a slot
   * @param since when it first asked (its clock)
   * @param reason why it wants to reboot
   */
  public record Waiter(String host, int position, Instant since, String reason) {}
}
