package dev.buildhost.monitor.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the running host read from /proc. */
public final class HostInfo {
  public static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  private HostInfo() {}

  /** The kernel's boot id (new at every boot), or null if it cannot be read. */
  public static String bootId(Path file) {
    try {
      String id = Files.readString(file).strip();
      return id.isEmpty() ? null : id;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Whether this process runs as root (uid 0), from /proc/self/status. */
  public static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc is missing
    }
    return false;
  }
}
