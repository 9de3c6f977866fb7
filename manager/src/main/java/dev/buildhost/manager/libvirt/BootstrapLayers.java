package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The VM side of bootstrapped states: a build's overlay goes over the state's layer rather than
 * straight over the revision's disk, and a bootstrap's overlay is kept (moved out of the instance
 * folder) to become such a layer. Kept apart from {@link LibvirtBackend} so that its launch only
 * makes one call here.
 */
final class BootstrapLayers {

  /** The name a kept overlay gets in the folder it is moved to. */
  static final String LAYER_NAME = "disk.qcow2";

  private BootstrapLayers() {}

  /**
   * The instance's overlay: over the layer the spec names, else over the revision's disk. Returns
   * its backing chain, nearest first.
   */
  static List<DomainXml.BackingFile> createOverlay(LaunchSpec spec, Path base, Path overlay)
      throws BackendException {
    if (spec.layer() != null && spec.layer().disk() != null) {
      return QemuImg.createOverlayOnLayer(spec.layer().disk(), base, overlay);
    }
    return QemuImg.createOverlay(base, overlay);
  }

  /**
   * Moves the stopped guest's overlay into {@code into}. Its backing file stays what it was (the
   * revision's disk, or the layer it started from), so keeping it costs one rename on the same file
   * system whatever the disk's size.
   */
  static KeptDisk keep(LaunchSpec spec, Path into) throws BackendException {
    Path overlay = spec.overlayDisk();
    if (!Files.isRegularFile(overlay)) {
      throw new BackendException(
          "instance "
              + spec.instanceId()
              + " has no overlay disk to keep ("
              + overlay
              + " is missing): its machine boots a kernel without a disk");
    }
    Path target = into.resolve(LAYER_NAME);
    try {
      Files.createDirectories(into);
      try {
        Files.move(overlay, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        // The state folder is on another file system than the instances: copy, then remove.
        Files.copy(overlay, target, StandardCopyOption.REPLACE_EXISTING);
        Files.delete(overlay);
      }
      return new KeptDisk(target, null);
    } catch (IOException e) {
      QemuImg.deleteQuietly(target);
      throw new BackendException(
          "cannot keep the overlay " + overlay + " of instance " + spec.instanceId() + ": " + e, e);
    }
  }

  /**
   * Copies a kept overlay with everything it chains to into {@code folder} as one standalone qcow2
   * disk ({@value #LAYER_NAME}), for a new revision; the kept overlay is not changed.
   */
  static String flatten(KeptDisk kept, Path folder) throws BackendException {
    if (kept.disk() == null || !Files.isRegularFile(kept.disk())) {
      throw new BackendException("there is no kept VM disk to publish (" + kept.disk() + ")");
    }
    Path target = folder.resolve(LAYER_NAME);
    QemuImg.flatten(kept.disk(), target);
    return LAYER_NAME;
  }

  /** A kept overlay that will not be published. */
  static void discard(KeptDisk kept) {
    if (kept.disk() != null) {
      QemuImg.deleteQuietly(kept.disk());
    }
  }
}
