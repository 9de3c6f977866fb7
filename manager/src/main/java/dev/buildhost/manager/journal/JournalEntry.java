package dev.buildhost.manager.journal;

import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import java.time.Instant;

/**
 * What the journal keeps of one instance: enough to show it after a restart and to adopt its guest.
 *
 * @param instance the instance as last seen
 * @param revision the revision it runs (with its manifest, so adoption needs no library)
 * @param deadline when its timeout ends it
 * @param requestedReason the end reason already decided by a stop request (TERMINATED, TIMEOUT), or
 *     null while nobody asked it to stop
 * @param startedFrom the id of the bootstrapped state it started from; null for the bare revision
 * @param keep whether its disk is kept once it stopped (until it is deleted)
 * @param keptDisk the kept VM disk; null when none is kept
 * @param keptImage the id of the image a kept container was committed to; null when none is
 */
public record JournalEntry(
    Instance instance,
    Revision revision,
    Instant deadline,
    EndReason requestedReason,
    String startedFrom,
    boolean keep,
    String keptDisk,
    String keptImage) {

  /** An instance of the bare revision whose disk is not kept. */
  public JournalEntry(
      Instance instance, Revision revision, Instant deadline, EndReason requestedReason) {
    this(instance, revision, deadline, requestedReason, null, false, null, null);
  }

  public String id() {
    return instance.id();
  }
}
