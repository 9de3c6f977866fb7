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
 */
public record JournalEntry(
    Instance instance, Revision revision, Instant deadline, EndReason requestedReason) {

  public String id() {
    return instance.id();
  }
}
