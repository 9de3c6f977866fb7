package dev.buildhost.manager.backend;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes what released guests leave behind (a container, a domain). A removal that did not happen
 * (the engine or libvirtd was away, or refused) is kept, and the backend tries it again when that
 * one is back and after its next launch, so that an outage leaves no guest behind for the daemon's
 * life; what is still left when the daemon stops, the next start removes as an orphan.
 */
public final class RetriedRemovals {

  private static final Logger LOG = LoggerFactory.getLogger(RetriedRemovals.class);

  /** Removes one guest's leftover by name; a leftover already gone is no error. */
  @FunctionalInterface
  public interface Removal {
    void remove(String name) throws BackendException;
  }

  private final String what;
  private final String retriedWhen;
  private final Removal removal;

  /** Instance ids by the name of what could not be removed. */
  private final Map<String, String> pending = new ConcurrentHashMap<>();

  /**
   * @param what what is removed, for the log ("container")
   * @param retriedWhen when a failed removal is tried again, for the log ("once the engine
   *     answers")
   */
  public RetriedRemovals(String what, String retriedWhen, Removal removal) {
    this.what = what;
    this.retriedWhen = retriedWhen;
    this.removal = removal;
  }

  /** Removes {@code name}; returns whether it is gone. When it is not, it is kept to try again. */
  public boolean remove(String instanceId, String name) {
    try {
      removal.remove(name);
    } catch (BackendException | RuntimeException e) {
      if (pending.put(name, instanceId) == null) {
        LOG.warn(
            "instance {}: cannot remove {} {}: {}; trying again {}",
            instanceId,
            what,
            name,
            e.getMessage(),
            retriedWhen);
      }
      return false;
    }
    if (pending.remove(name) != null) {
      LOG.info("instance {}: {} {} removed at a later try", instanceId, what, name);
    }
    return true;
  }

  /** Tries the removals that failed again. */
  public void retry() {
    pending.forEach((name, instanceId) -> remove(instanceId, name));
  }

  public boolean anyPending() {
    return !pending.isEmpty();
  }

  /** Says what is left when the backend closes. */
  public void close() {
    if (!pending.isEmpty()) {
      LOG.warn(
          "{} {}(s) could not be removed ({}); the next start removes them as orphans",
          pending.size(),
          what,
          String.join(", ", pending.keySet()));
    }
  }
}
