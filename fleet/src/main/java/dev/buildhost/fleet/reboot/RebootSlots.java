package dev.buildhost.fleet.reboot;

import java.util.List;

/**
 * The fleet's reboot slots as read at one etcd revision.
 *
 * @param slots how many hosts may reboot at once (this reader's setting)
 * @param holders the hosts that hold a slot, oldest first
 * @param waiters the hosts that wait for one, in the order they get it
 */
public record RebootSlots(int slots, List<SlotHolder> holders, List<SlotWaiter> waiters) {
  public RebootSlots {
    holders = List.copyOf(holders);
    waiters = List.copyOf(waiters);
  }
}
