package dev.buildhost.client.wire;

import java.time.Instant;
import java.util.List;
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
 * @param journal whether the instance journal keeps up (null from a daemon older than this field)
 * @param network how guests are networked
 * @param toolchains the host's current toolchains, by name
 * @param bootstrapped how many bootstrapped states the host keeps and the disk they use
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
    Journal journal,
    Network network,
    List<ToolchainInfo> toolchains,
    Bootstrapped bootstrapped) {

  public HostInfo {
    toolchains = toolchains == null ? List.of() : List.copyOf(toolchains);
  }

  /**
   * A current toolchain.
   *
   * @param name its name: the folder {@code <root>/tftp/toolchain/<name>/}
   * @param id the SHA-256 of its checksum file, or the id the daemon's setting gives
   * @param source {@code published} (the monitor's folder) or {@code setting}
   */
  public record ToolchainInfo(String name, String id, String source) {}

  /**
   * @param states bootstrapped states kept
   * @param stale of which stale (an older toolchain or revision)
   * @param diskBytes disk they use
   */
  public record Bootstrapped(int states, int stale, long diskBytes) {}

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
   * @param unwrittenRecords instances whose end is not in their journal record yet: the write
   *     failed (a full disk) and is retried; 0 when the journal keeps up
   * @param failedWrites journal writes that failed since the daemon started
   * @param lastError what the last failed write said; null when none failed
   * @param lastErrorAt when it failed; null when none failed
   */
  public record Journal(
      int unwrittenRecords, long failedWrites, String lastError, Instant lastErrorAt) {}

  /**
   * @param mode "bridge" (each guest on its own isolated port of the bridge) or "user" (QEMU user
   *     networking, host-networked containers: the fallback, guests share the host's loopback)
   * @param reason why this mode runs (configured, or what the daemon found)
   * @param bridge the bridge's name, null in mode user
   * @param address the host's address on the bridge, where guests find TFTP; null in mode user
   */
  public record Network(String mode, String reason, String bridge, String address) {}
}
