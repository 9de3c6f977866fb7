package dev.buildhost.manager.model;

import java.time.Instant;

/**
 * A snapshot of one instance, as the API and CLI show it. Optional fields are null when not yet
 * known.
 */
public record Instance(
    String id,
    String machine,
    String revision,
    MachineType type,
    InstanceState state,
    EndReason endReason,
    Integer exitCode,
    int tftpPort,
    Instant createdAt,
    Instant runningAt,
    Instant stoppedAt,
    String message) {
}
