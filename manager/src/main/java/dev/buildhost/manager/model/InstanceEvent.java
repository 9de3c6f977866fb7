package dev.buildhost.manager.model;

import java.time.Instant;

/**
 * A lifecycle event of one instance.
 *
 * @param kind what happened
 * @param time when
 * @param instance the instance's state right after the event
 * @param detail e.g. the uploaded file's name for FILE_UPLOADED, the error for FAILED; else null
 */
public record InstanceEvent(Kind kind, Instant time, Instance instance, String detail) {
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
