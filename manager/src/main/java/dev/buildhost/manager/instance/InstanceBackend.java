package dev.buildhost.manager.instance;

import dev.buildhost.manager.machine.MachineType;
import java.util.Set;

/** A way to run instances: libvirt domains for kvm machines, Docker containers for docker ones. */
public interface InstanceBackend extends AutoCloseable {

  MachineType type();

  /**
   * Creates and starts the guest and returns once it is launched. On failure nothing is left
   * behind (no domain, container or overlay) and a {@link BackendException} says why.
   */
  Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException;

  /** Ids of the instances whose guests exist now and carry buildhost's label. */
  Set<String> ourInstanceIds() throws BackendException;

  /** Takes over a guest that outlived a previous daemon (its listener gets the future events). */
  Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException;

  /** Removes a guest of ours that no journal entry claims. */
  void removeOrphan(String instanceId) throws BackendException;

  @Override
  void close();
}
