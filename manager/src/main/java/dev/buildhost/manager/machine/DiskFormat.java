package dev.buildhost.manager.machine;

import java.util.Locale;
import java.util.Optional;

/**
 * The format of a machine's disk, told by its file name and never guessed from its content: a raw
 * disk whose first bytes look like a qcow2 header must stay raw (its content is the guest's, and a
 * guessed qcow2 could name any host file as its backing file).
 */
public enum DiskFormat {
  QCOW2("qcow2"),
  RAW("raw");

  /** What the manifest check says when a name tells no format. */
  public static final String RULE =
      "name the disk after its format: *.qcow2 for qcow2, *.raw or *.img for raw";

  private final String qemuName;

  DiskFormat(String qemuName) {
    this.qemuName = qemuName;
  }

  /** The name qemu-img and libvirt use ({@code qcow2}, {@code raw}). */
  public String qemuName() {
    return qemuName;
  }

  /** The format a disk file name declares, if it declares one. */
  public static Optional<DiskFormat> ofFileName(String fileName) {
    String name = fileName.toLowerCase(Locale.ROOT);
    if (name.endsWith(".qcow2")) {
      return Optional.of(QCOW2);
    }
    if (name.endsWith(".raw") || name.endsWith(".img")) {
      return Optional.of(RAW);
    }
    return Optional.empty();
  }

  /** The format qemu calls {@code name}, if it is one of these. */
  public static Optional<DiskFormat> ofQemuName(String name) {
    for (DiskFormat format : values()) {
      if (format.qemuName.equals(name)) {
        return Optional.of(format);
      }
    }
    return Optional.empty();
  }
}
