package dev.buildhost.client.wire;

import java.util.List;

/**
 * A revision's validated manifest (build2 bbot fields plus buildhost's own; doc/machines.md).
 * Optional fields are null when absent; RAM sizes are in MiB, the TFTP upload limits in bytes;
 * {@code capabilities} and {@code pidsLimit} are a container's limits.
 */
public record ManifestView(
    String id,
    String name,
    String summary,
    MachineView.Type type,
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
    Long pidsLimit) {}
