package dev.buildhost.client.wire;

import java.util.Map;

/**
 * The host as {@code GET /v1/host} shows it.
 *
 * @param version buildhost's version
 * @param acceleration how VMs run: "kvm" or "tcg"
 * @param accelerationReason why (configured, or what the probe found)
 * @param capacity what may run and what does
 * @param versions versions of the parts buildhost drives (java, libvirt, docker, ...)
 * @param draining true while new starts are refused
 * @param tftp the read-only TFTP server's address and the per-instance port range
 * @param root the storage root
 * @param stateDir the state folder
 * @param network how guests are networked
 */
public record HostInfo(
    String version,
    String acceleration,
    String accelerationReason,
    Capacity capacity,
    Map<String, String> versions,
    boolean draining,
    Tftp tftp,
    String root,
    String stateDir,
    Network network) {

  /**
   * @param maxInstances instances that may run at once
   * @param active instances not yet stopped
   * @param ramBudgetMib RAM all running instances may claim together
   */
  public record Capacity(int maxInstances, int active, long ramBudgetMib) {}

  /**
   * @param readOnly address of the read-only server of the TFTP root, null when not running
   * @param portFirst first port of the per-instance range
   * @param portLast last port of the per-instance range
   */
  public record Tftp(String readOnly, int portFirst, int portLast) {}

  /**
   * @param mode "bridge" (each guest on its own isolated port of the bridge) or "user" (QEMU user
   *     networking, host-networked containers: the fallback, guests share the host's loopback)
   * @param reason why this mode runs (configured, or what the daemon found)
   * @param bridge the bridge's name, null in mode user
   * @param address the host's address on the bridge, where guests find TFTP; null in mode user
   */
  public record Network(String mode, String reason, String bridge, String address) {}
}
