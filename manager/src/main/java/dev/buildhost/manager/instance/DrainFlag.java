package dev.buildhost.manager.instance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the host drains, kept in {@code <stateDir>/draining} so that a daemon restarted during a
 * drain goes on refusing new instances. The file holds the kernel's boot id: a drain ends with the
 * reboot it was made for, so a daemon started after the next boot accepts instances again.
 */
final class DrainFlag {
  private static final Logger LOG = LoggerFactory.getLogger(DrainFlag.class);
  private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  private final Path file;
  private volatile boolean draining;

  DrainFlag(Path stateDir) {
    this.file = stateDir.resolve("draining");
    this.draining = read();
  }

  boolean draining() {
    return draining;
  }

  /**
   * Sets the flag and records it durably; an I/O failure is thrown, the flag then stays as it was.
   */
  synchronized void set(boolean draining) {
    try {
      if (draining) {
        Path temp = file.resolveSibling(".draining.tmp");
        Files.writeString(temp, bootId() + "\n", StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot record the drain in " + file + ": " + e.getMessage(), e);
    }
    this.draining = draining;
  }

  private boolean read() {
    try {
      if (!Files.exists(file)) {
        return false;
      }
      String recorded = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (recorded.equals(bootId())) {
        LOG.info("draining: a drain recorded in {} goes on; new instances are refused", file);
        return true;
      }
      LOG.info(
          "the drain recorded in {} was for the previous boot; new instances are accepted", file);
      Files.deleteIfExists(file);
      return false;
    } catch (IOException e) {
      // Better a host that refuses work than one that takes it while it should drain.
      LOG.error("cannot read {} ({}); draining until told otherwise", file, e.getMessage());
      return true;
    }
  }

  private static String bootId() throws IOException {
    return Files.exists(BOOT_ID)
        ? Files.readString(BOOT_ID, StandardCharsets.UTF_8).strip()
        : "unknown";
  }
}
