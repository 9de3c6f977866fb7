package dev.buildhost.manager.backend;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A backend that can keep what a guest wrote once it stopped (a bootstrap, a publish), instead of
 * throwing it away when the guest is released.
 */
public interface KeepsGuestDisk {

  /**
   * Keeps the disk of the stopped guest of {@code spec}; called before the guest is released. A
   * VM's overlay is moved into {@code into} (as {@code disk.qcow2}); a container is committed to a
   * new image labelled with {@code labels}. On failure nothing kept is left behind.
   */
  KeptDisk keep(LaunchSpec spec, Path into, Map<String, String> labels) throws BackendException;

  /** Removes what {@link #keep} made outside the folder it was given (a committed image). */
  void discard(KeptDisk kept);

  /**
   * Removes the images this backend committed for {@code root} (label {@code
   * dev.buildhost.kept-for}) whose id is not in {@code inUse}: the leftovers of a daemon killed
   * between the commit and the publish. Returns the ids removed.
   */
  default Set<String> removeKeptExcept(Set<String> inUse) {
    return Set.of();
  }
}
