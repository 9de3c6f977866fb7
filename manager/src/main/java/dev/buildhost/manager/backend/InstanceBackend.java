package dev.buildhost.manager.backend;

import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.MachineType;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A way to run instances: libvirt domains for kvm machines, Docker containers for docker ones. A
 * backend reports each guest's life to the listener it is given through a {@link GuestReports},
 * which puts the reports in order. A backend that can do part of a launch ahead of time also
 * implements {@link PreparesAhead}.
 */
public interface InstanceBackend extends AutoCloseable {

  MachineType type();

  /**
   * Creates and starts the guest and returns once it is launched. On failure nothing is left behind
   * (no domain, container or overlay) and a {@link BackendException} says why.
   */
  Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException;

  /** Ids of the instances whose guests exist now and carry buildhost's label. */
  Set<String> ourInstanceIds() throws BackendException;

  /** Takes over a guest that outlived a previous daemon (its listener gets the future events). */
  Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException;

  /** Removes a guest of ours that no journal entry claims. */
  void removeOrphan(String instanceId) throws BackendException;

  /**
   * The hardware acceleration this backend's guests run with and why it was chosen (the host
   * reports it); empty for a backend that runs no virtual machines.
   */
  default Optional<Acceleration> acceleration() {
    return Optional.empty();
  }

  /**
   * Removes what this backend keeps outside the machines folder for the revisions deleted from it
   * ({@code left}: the revision folders that still exist), and returns what it removed, named as a
   * person knows it (a container machine's image tag). A VM revision keeps all in its folder: by
   * default there is nothing to remove.
   */
  default List<String> removeLeftoversExcept(Set<RevisionName> left) throws BackendException {
    return List.of();
  }

  @Override
  void close();
}
