package dev.buildhost.manager.network;

import java.util.List;
import java.util.Set;

/**
 * What reconciliation found and did: the ports (links), firewall rules (by instance) and DHCP hosts
 * it removed because no live instance owns them, and the instances whose network it kept.
 */
public record ReconcileResult(
    List<String> removedPorts,
    Set<String> removedRules,
    Set<String> removedHosts,
    Set<String> kept) {
  public ReconcileResult {
    removedPorts = List.copyOf(removedPorts);
    removedRules = Set.copyOf(removedRules);
    removedHosts = Set.copyOf(removedHosts);
    kept = Set.copyOf(kept);
  }

  public boolean removedAnything() {
    return !removedPorts.isEmpty() || !removedRules.isEmpty() || !removedHosts.isEmpty();
  }
}
