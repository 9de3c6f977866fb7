package dev.buildhost.manager.backend;

import dev.buildhost.manager.model.MachineType;
import java.util.Set;

/** A way to run instances: libvirt domains for kvm machines, Docker containers for docker ones. */
public interface InstanceBackend extends AutoCloseable {

  MachineType type();

  /**
   * Creates and starts the guest and returns once it is launched. On failure nothing is left
   * behind (no domain, container or overlay) and a {@link BackendException} says why.
   */
  Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException;

  /**
   * Whether {@link #prepare} does anything: the manager then prepares the next launch of a
   * machine while its last instance runs.
   */
  default boolean preparesAhead() {
    return false;
  }

  /**
   * Does ahead of time the part of {@link #launch} that runs nothing (a container's create), so
   * that a later launch of an equal spec only starts the guest. A launch whose spec differs (the
   * image changed meanwhile) removes what was prepared and starts afresh.
   */
  default void prepare(LaunchSpec spec) throws BackendException {
    throw new UnsupportedOperationException(type() + " backend prepares nothing ahead");
  }

  /** Removes what {@link #prepare} made for the instance, if no launch took it. */
  default void discardPrepared(String instanceId) {
  }

  /** Ids of the instances whose guests exist now and carry buildhost's label. */
  Set<String> ourInstanceIds() throws BackendException;

  /** Takes over a guest that outlived a previous daemon (its listener gets the future events). */
  Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException;

  /** Removes a guest of ours that no journal entry claims. */
  void removeOrphan(String instanceId) throws BackendException;

  @Override
  void close();
}
