package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The kernel and initrd an instance boots directly: copies of the revision's, in the instance's
 * folder, deleted when it ends. libvirt makes the kernel and initrd it hands QEMU the property of
 * QEMU's user (libvirt-qemu) while the domain runs, and has no setting to leave them alone: were
 * they the revision's own files, shared by every instance of it, any QEMU process (a guest that
 * broke out of one) could change what later instances boot. The revision's disk needs no copy:
 * libvirt is told not to relabel backing files ({@link DomainXml.Disk}).
 *
 * @param kernel the copy of the kernel, or null for a machine that boots its disk
 * @param initrd the copy of the initrd, or null
 */
record BootFiles(Path kernel, Path initrd) {
  static final String KERNEL = "boot-kernel";
  static final String INITRD = "boot-initrd";

  static final BootFiles NONE = new BootFiles(null, null);

  /**
   * Copies {@code kernel} (null: none) and {@code initrd} (null: none; not copied without a kernel)
   * into {@code instanceDir}; on failure nothing is left.
   */
  static BootFiles copy(Path kernel, Path initrd, Path instanceDir) throws BackendException {
    if (kernel == null) {
      return NONE;
    }
    try {
      Path kernelCopy = instanceDir.resolve(KERNEL);
      Files.copy(kernel, kernelCopy, StandardCopyOption.REPLACE_EXISTING);
      Path initrdCopy = null;
      if (initrd != null) {
        initrdCopy = instanceDir.resolve(INITRD);
        Files.copy(initrd, initrdCopy, StandardCopyOption.REPLACE_EXISTING);
      }
      return new BootFiles(kernelCopy, initrdCopy);
    } catch (IOException e) {
      deleteQuietly(instanceDir);
      throw new BackendException(
          "cannot copy "
              + (initrd == null ? kernel : kernel + " and " + initrd)
              + " into the instance folder "
              + instanceDir
              + ": "
              + e,
          e);
    }
  }

  /** Removes the copies from {@code instanceDir}, if there. */
  static void deleteQuietly(Path instanceDir) {
    QemuImg.deleteQuietly(instanceDir.resolve(KERNEL));
    QemuImg.deleteQuietly(instanceDir.resolve(INITRD));
  }
}
