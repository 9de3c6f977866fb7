package dev.buildhost.manager.docker;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.RetriedRemovals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes the containers of released guests, with their volumes, running or not; one the engine did
 * not remove is tried again when the event stream reconnects and after the next launch ({@link
 * RetriedRemovals}).
 */
final class ContainerRemovals {

  private static final Logger LOG = LoggerFactory.getLogger(ContainerRemovals.class);

  private final DockerConnection engine;
  private final RetriedRemovals removals =
      new RetriedRemovals("container", "once the engine answers", this::removeNow);

  ContainerRemovals(DockerConnection engine) {
    this.engine = engine;
  }

  /** Removes the container; returns whether it is gone (if not, it is kept to try again). */
  boolean remove(String instanceId, String containerId) {
    return removals.remove(instanceId, containerId);
  }

  private void removeNow(String containerId) throws BackendException {
    long began = System.nanoTime();
    try {
      engine
          .client()
          .removeContainerCmd(containerId)
          .withForce(true)
          .withRemoveVolumes(true)
          .exec();
      LOG.debug(
          "container {} removed in {} ms", containerId, (System.nanoTime() - began) / 1_000_000);
    } catch (NotFoundException e) {
      LOG.debug("container {} already removed", containerId);
    } catch (ConflictException e) {
      LOG.debug(
          "container {}: removal already under way: {}",
          containerId,
          DockerConnection.engineMessage(e));
    }
  }

  void retry() {
    removals.retry();
  }

  boolean anyPending() {
    return removals.anyPending();
  }

  void close() {
    removals.close();
  }
}
