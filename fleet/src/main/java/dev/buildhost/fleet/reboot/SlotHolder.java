package dev.buildhost.fleet.reboot;

import java.time.Duration;
import java.time.Instant;

/**
 * A host that holds a reboot slot.
 *
 * @param host the host's name in the fleet
 * @param bootId the kernel boot id of the host when it took the slot: the host is back once it runs
 *     under another one
 * @param since when the slot was taken (the holder's clock)
 * @param reason why the host reboots
 * @param drainUntil when the holder's drain ends at the latest (its drain timeout)
 * @param rebooting when the reboot command ran, or null while the host drains
 */
public record SlotHolder(
    String host,
    String bootId,
    Instant since,
    String reason,
    Instant drainUntil,
    Instant rebooting) {

  /**
   * When another host frees the slot if this one has not given it back by then: the slot timeout
   * after the reboot command ran, or while the host drains, after its drain timeout would end.
   */
  public Instant expires(Duration slotTimeout) {
    Instant from = rebooting != null ? rebooting : drainUntil != null ? drainUntil : since;
    return from.plus(slotTimeout);
  }

  SlotHolder rebootingAt(Instant at) {
    return new SlotHolder(host, bootId, since, reason, drainUntil, at);
  }
}
