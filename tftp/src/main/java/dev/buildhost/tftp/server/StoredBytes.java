package dev.buildhost.tftp.server;

import dev.buildhost.tftp.path.SafePaths;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bytes of the files stored under a writable root, for the quota. Walking a root of many
 * thousand files on every upload would be slow, so the root is walked once, when the server starts,
 * and every upload then adds what it stored less what it replaced, under this object's lock (see
 * {@link WriteTransfer}). Uploads in progress are not counted here; their temporary files never
 * are. Files that other programs add to or remove from the root while the server runs are counted
 * from the server's next start.
 */
final class StoredBytes {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");

  private long bytes;

  private StoredBytes(long bytes) {
    this.bytes = bytes;
  }

  /**
   * Walks the root once: sums its regular files and removes the temporary files of uploads that a
   * crash cut short (they were never visible).
   */
  static StoredBytes measure(Path root) throws IOException {
    long[] total = {0};
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
              total[0] += attrs.size();
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
    return new StoredBytes(total[0]);
  }

  synchronized long get() {
    return bytes;
  }

  /** An upload stored {@code delta} bytes more than the file it replaced (negative if fewer). */
  synchronized void add(long delta) {
    bytes += delta;
  }
}
