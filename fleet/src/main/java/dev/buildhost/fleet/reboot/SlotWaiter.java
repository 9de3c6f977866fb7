package dev.buildhost.fleet.reboot;

import java.time.Instant;

/**
 * A host that waits for a reboot slot while it goes on building.
 *
 * @param host the host's name in the fleet
 * @param since when it first asked (its clock)
 * @param reason why it wants to reboot
 */
public record SlotWaiter(String host, Instant since, String reason) {}
