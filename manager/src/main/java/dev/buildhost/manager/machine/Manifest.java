package dev.buildhost.manager.machine;

import dev.buildhost.manager.model.MachineType;
import java.util.List;

/**
 * A validated machine manifest (build2 bbot fields plus buildhost's own). Optional fields are null
 * when absent. RAM sizes are in MiB, TFTP limits in bytes.
 *
 * @param outboundNat whether the guest may reach the internet (through NAT) in bridge mode; null
 *     leaves it to the daemon's default
 * @param tftpUploadQuotaBytes what the instance's TFTP folder may hold in all; null for the
 *     daemon's default
 * @param tftpMaxFileBytes the largest file a guest may upload; null for the daemon's default
 * @param capabilities the capabilities a container keeps; null for the daemon's default
 * @param pidsLimit processes a container may have at once; null for the daemon's default
 */
public record Manifest(
    String id,
    String name,
    String summary,
    MachineType type,
    String role,
    Long ramMinimumMib,
    Long ramMaximumMib,
    Integer cpus,
    String mac,
    List<String> options,
    String changes,
    String disk,
    String kernel,
    String initrd,
    String cmdline,
    String image,
    String command,
    Boolean outboundNat,
    Long tftpUploadQuotaBytes,
    Long tftpMaxFileBytes,
    List<String> capabilities,
    Long pidsLimit) {

  /** A manifest that leaves the network, upload and container limits to the daemon. */
  public Manifest(
      String id,
      String name,
      String summary,
      MachineType type,
      String role,
      Long ramMinimumMib,
      Long ramMaximumMib,
      Integer cpus,
      String mac,
      List<String> options,
      String changes,
      String disk,
      String kernel,
      String initrd,
      String cmdline,
      String image,
      String command) {
    this(
        id,
        name,
        summary,
        type,
        role,
        ramMinimumMib,
        ramMaximumMib,
        cpus,
        mac,
        options,
        changes,
        disk,
        kernel,
        initrd,
        cmdline,
        image,
        command,
        null,
        null,
        null,
        null,
        null);
  }

  /** Suffix that makes {@code image} a file of the revision (docker save / rootfs tar). */
  public static final String IMAGE_ARCHIVE_SUFFIX = ".tar";

  /**
   * Whether {@code image} names an archive file inside the revision folder (it ends in {@code
   * .tar}) rather than a reference to an image in the local Docker engine ({@code repo/name:tag}).
   */
  public boolean imageIsArchive() {
    return image != null && image.endsWith(IMAGE_ARCHIVE_SUFFIX);
  }
}
