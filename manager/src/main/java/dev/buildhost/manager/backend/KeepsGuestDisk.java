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

  /**
   * Writes what {@link #keep} kept as one standalone file into {@code folder}, for a new machine
   * revision: a VM's overlay flattened into a qcow2 disk without a backing file (the overlay and
   * its chain stay as they are), a container's image saved as an archive. Returns the file's name.
   */
  String export(KeptDisk kept, Path folder) throws BackendException;

  /** Removes what {@link #keep} made outside the folder it was given (a committed image). */
  void discard(KeptDisk kept);

  /**
   * The bytes an image {@link #keep} committed takes in the engine (its size as {@code docker image
   * inspect} reports it); 0 for a backend that keeps files only, or an image that is gone.
   */
  default long imageBytes(String image) {
    return 0;
  }

  /**
   * Removes the images this backend committed for {@code root} (label {@code
   * dev.buildhost.kept-for}) whose id is not in {@code inUse}: the leftovers of a daemon killed
   * between the commit and the publish. Returns the ids removed.
   */
  default Set<String> removeKeptExcept(Set<String> inUse) {
    return Set.of();
  }
}
