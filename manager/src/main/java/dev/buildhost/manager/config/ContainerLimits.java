package dev.buildhost.manager.config;

import dev.buildhost.manager.machine.ContainerCapabilities;
import dev.buildhost.manager.machine.Manifest;
import java.util.List;

/**
 * What a container running an untrusted build may do: the Linux capabilities it keeps (every other
 * one is dropped) and how many processes and threads it may have at once (a fork bomb stops there).
 * The daemon's settings give the defaults; a machine's manifest may set its own.
 *
 * @param capabilities names as Docker spells them ({@code CHOWN}, {@code SYS_CHROOT}...), each one
 *     of {@link ContainerCapabilities#ALLOWED}; empty keeps none
 * @param pidsLimit processes and threads at once, 1 to {@link ContainerCapabilities#MAX_PIDS}
 */
public record ContainerLimits(List<String> capabilities, long pidsLimit) {

  /**
   * Root in the container may still own, read and write its files, change to another user and
   * signal its processes; NET_RAW (sniffing, forged packets), MKNOD, SETFCAP, SETPCAP,
   * NET_BIND_SERVICE, SYS_CHROOT and AUDIT_WRITE are dropped. 1024 processes.
   */
  public static final ContainerLimits DEFAULTS =
      new ContainerLimits(
          List.of("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"), 1024);

  public ContainerLimits {
    capabilities = List.copyOf(capabilities);
    for (String capability : capabilities) {
      if (!ContainerCapabilities.ALLOWED.contains(capability)) {
        throw new IllegalArgumentException(
            "capability '"
                + capability
                + "' may not be kept by a container: only "
                + String.join(", ", ContainerCapabilities.ALLOWED));
      }
    }
    if (pidsLimit < 1 || pidsLimit > ContainerCapabilities.MAX_PIDS) {
      throw new IllegalArgumentException(
          "the pids limit must be between 1 and "
              + ContainerCapabilities.MAX_PIDS
              + ", not "
              + pidsLimit);
    }
  }

  /**
   * These limits with what the machine's manifest sets ({@code capabilities}, {@code pids-limit}).
   */
  public ContainerLimits overriddenBy(Manifest machine) {
    return new ContainerLimits(
        machine.capabilities() != null ? machine.capabilities() : capabilities,
        machine.pidsLimit() != null ? machine.pidsLimit() : pidsLimit);
  }
}
