package dev.buildhost.manager.backend;

/**
 * A backend that can do ahead of time the part of {@link InstanceBackend#launch} that runs nothing
 * (a container's create), so that a later launch of an equal spec only starts the guest. The
 * manager then prepares the next launch of a machine while its last instance runs.
 */
public interface PreparesAhead {

  /**
   * Prepares the launch of {@code spec}. A later launch whose spec differs (the image changed
   * meanwhile) removes what was prepared and starts afresh.
   */
  void prepare(LaunchSpec spec) throws BackendException;

  /** Removes what {@link #prepare} made for the instance, if no launch took it. */
  void discardPrepared(String instanceId);
}
