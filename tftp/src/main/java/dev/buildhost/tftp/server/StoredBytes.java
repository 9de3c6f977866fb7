package dev.buildhost.tftp.server;

import dev.buildhost.tftp.path.SafePaths;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bytes that count against a writable root's quota: every file the server's uploads stored (its
 * size now, as the last upload of that name left it) and, when the server is so built, the files
 * that were in the root when it started. Walking a root of many thousand files on every upload
 * would be slow, so the root is walked once, when the server starts, and every upload then records
 * its file under this object's lock (see {@link WriteTransfer}). Uploads in progress are not
 * counted here; their temporary files never are. Files that other programs put into the root while
 * the server runs are not counted (an instance's task files, which the host puts there, must not
 * use up the guest's quota); a counted file that another program replaces or removes keeps its
 * count until an upload of that name replaces it.
 */
final class StoredBytes {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");

  private final Map<Path, Long> counted;
  private long bytes;

  private StoredBytes(Map<Path, Long> counted) {
    this.counted = counted;
    counted.values().forEach(size -> bytes += size);
  }

  /**
   * Walks the root once: removes the temporary files of uploads that a crash cut short (they were
   * never visible) and, with {@code countExisting}, counts the regular files already there.
   */
  static StoredBytes measure(Path root, boolean countExisting) throws IOException {
    Map<Path, Long> existing = new HashMap<>();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (!attrs.isRegularFile()) {
              return FileVisitResult.CONTINUE;
            }
            String name = file.getFileName().toString();
            if (!name.endsWith(SafePaths.TEMP_SUFFIX)) {
              if (countExisting) {
                existing.put(file, attrs.size());
              }
            } else if (name.startsWith(".")) {
              try {
                Files.deleteIfExists(file);
              } catch (IOException e) {
                LOG.warn("cannot delete the stale temporary upload {}: {}", file, e.toString());
              }
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) {
            return FileVisitResult.CONTINUE;
          }
        });
    return new StoredBytes(existing);
  }

  synchronized long get() {
    return bytes;
  }

  /**
   * The bytes counted for {@code file}: 0 for a file no upload stored and none counted at start.
   */
  synchronized long countedFor(Path file) {
    return counted.getOrDefault(file, 0L);
  }

  /** An upload stored {@code size} bytes as {@code file}, replacing what was counted for it. */
  synchronized void stored(Path file, long size) {
    Long before = counted.put(file, size);
    bytes += size - (before == null ? 0 : before);
  }
}
