package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destroys the domains of released guests. A destroy libvirtd did not carry out (it was down, or
 * refused) is kept and tried again once the connection is open again and after the next launch, so
 * that a libvirtd outage leaves no guest running for the daemon's life; what is still left when the
 * daemon stops, the next start removes as an orphan.
 */
final class DomainRemovals {

  private static final Logger LOG = LoggerFactory.getLogger(DomainRemovals.class);

  /** Destroys a domain by name; a domain already gone is no error. */
  @FunctionalInterface
  interface Destroyer {
    void destroy(String name) throws BackendException;
  }

  private final Destroyer destroyer;

  /** Instance ids by the name of the domain that could not be destroyed. */
  private final Map<String, String> pending = new ConcurrentHashMap<>();

  DomainRemovals(Destroyer destroyer) {
    this.destroyer = destroyer;
  }

  /** Destroys the domain; returns whether it is gone. When it is not, it is kept to try again. */
  boolean destroy(String instanceId, String name) {
    try {
      destroyer.destroy(name);
    } catch (BackendException | RuntimeException e) {
      if (pending.put(name, instanceId) == null) {
        LOG.warn("instance {}: {}; trying again once libvirtd answers", instanceId, e.getMessage());
      }
      return false;
    }
    if (pending.remove(name) != null) {
      LOG.info("instance {}: domain {} destroyed at a later try", instanceId, name);
    }
    return true;
  }

  /** Tries the destroys that failed again. */
  void retry() {
    pending.forEach((name, instanceId) -> destroy(instanceId, name));
  }

  /** Says what is left when the backend closes. */
  void close() {
    if (!pending.isEmpty()) {
      LOG.warn(
          "{} domain(s) could not be destroyed ({}); the next start removes them as orphans",
          pending.size(),
          String.join(", ", pending.keySet()));
    }
  }
}
