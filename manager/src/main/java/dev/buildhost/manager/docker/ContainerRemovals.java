package dev.buildhost.manager.docker;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.buildhost.manager.backend.BackendException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes the containers of released guests. A removal the engine did not carry out (it was
 * unreachable, or refused) is kept and tried again when the engine is back (the event stream
 * reconnected) and after the next launch, so that an engine's outage leaves no container behind for
 * the daemon's life; what is still left when the daemon stops, the next start removes as an orphan.
 */
final class ContainerRemovals {

  private static final Logger LOG = LoggerFactory.getLogger(ContainerRemovals.class);

  private final DockerConnection engine;

  /** Instance ids by the id of the container that could not be removed. */
  private final Map<String, String> pending = new ConcurrentHashMap<>();

  ContainerRemovals(DockerConnection engine) {
    this.engine = engine;
  }

  /**
   * Removes the container, with its volumes, running or not; returns whether it is gone. When the
   * engine does not remove it, it is kept to be tried again.
   */
  boolean remove(String instanceId, String containerId) {
    long began = System.nanoTime();
    try {
      engine
          .client()
          .removeContainerCmd(containerId)
          .withForce(true)
          .withRemoveVolumes(true)
          .exec();
      LOG.debug(
          "instance {}: container removed in {} ms",
          instanceId,
          (System.nanoTime() - began) / 1_000_000);
    } catch (NotFoundException e) {
      LOG.debug("instance {}: container already removed", instanceId);
    } catch (ConflictException e) {
      LOG.debug(
          "instance {}: container removal already under way: {}",
          instanceId,
          DockerConnection.engineMessage(e));
    } catch (BackendException | RuntimeException e) {
      if (pending.put(containerId, instanceId) == null) {
        LOG.warn(
            "instance {}: cannot remove container {}: {}; trying again once the engine answers",
            instanceId,
            containerId,
            e.getMessage());
      }
      return false;
    }
    if (pending.remove(containerId) != null) {
      LOG.info("instance {}: container {} removed at a later try", instanceId, containerId);
    }
    return true;
  }

  /** Tries the removals that failed again. */
  void retry() {
    pending.forEach((containerId, instanceId) -> remove(instanceId, containerId));
  }

  boolean anyPending() {
    return !pending.isEmpty();
  }

  /** Says what is left when the backend closes. */
  void close() {
    if (!pending.isEmpty()) {
      LOG.warn(
          "{} container(s) could not be removed ({}); the next start removes them as orphans",
          pending.size(),
          String.join(", ", pending.keySet()));
    }
  }
}
