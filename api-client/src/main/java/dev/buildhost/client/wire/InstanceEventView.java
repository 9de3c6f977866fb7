package dev.buildhost.client.wire;

import java.time.Instant;

/**
 * One event of {@code GET /v1/events} (server-sent events, {@code data:} is this record).
 *
 * @param kind what happened
 * @param time when
 * @param instance the instance right after the event
 * @param detail the uploaded file's name for FILE_UPLOADED, the error for FAILED; else null
 */
public record InstanceEventView(Kind kind, Instant time, InstanceView instance, String detail) {
  public enum Kind {
    CREATED,
    RUNNING,
    FILE_UPLOADED,
    STOPPING,
    STOPPED,
    FAILED,
    DELETED
  }
}
