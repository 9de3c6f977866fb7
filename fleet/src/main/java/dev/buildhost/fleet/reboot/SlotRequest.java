package dev.buildhost.fleet.reboot;

import java.util.List;

/**
 * What became of a request for a reboot slot.
 *
 * @param granted whether the host holds a slot now
 * @param holders the hosts holding a slot after the request (the host itself when granted)
 * @param ahead how many hosts wait before this one (0 when granted)
 * @param freed holders whose slot timed out and that this request freed
 */
public record SlotRequest(
    boolean granted, List<SlotHolder> holders, int ahead, List<SlotHolder> freed) {
  public SlotRequest {
    holders = List.copyOf(holders);
    freed = List.copyOf(freed);
  }
}
