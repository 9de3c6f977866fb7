package dev.buildhost.common.files;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Writes that leave either the old or the new content, never a half-written file: the content goes
 * to a temporary file beside the target ({@code .<name>.<random>.tmp}, so on the same file system
 * and hidden from listings), is synced, and is renamed over the target; the folder is synced after
 * the rename so that the new name survives a power cut. The temporary file is gone afterwards
 * whether the write worked or not. It is made readable by its owner only, as {@link
 * Files#createTempFile} makes it.
 */
public final class AtomicFiles {

  /** Produces the new content. */
  @FunctionalInterface
  public interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  private AtomicFiles() {}

  /** Replaces {@code target} with {@code content}; creates missing parent folders. */
  public static void write(Path target, byte[] content) throws IOException {
    write(target, out -> out.write(content));
  }

  /** Replaces {@code target} with what {@code content} writes; creates missing parent folders. */
  public static void write(Path target, Content content) throws IOException {
    write(target, content, null);
  }

  /**
   * As {@link #write(Path, Content)}, the new file with the mode {@code permissions} (set before it
   * takes the target's name, so it never appears with another).
   */
  public static void write(Path target, Content content, Set<PosixFilePermission> permissions)
      throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel channel =
          FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        OutputStream out = Channels.newOutputStream(channel); // closed with the channel
        content.writeTo(out);
        out.flush();
        channel.force(true);
      }
      if (permissions != null) {
        Files.setPosixFilePermissions(temp, permissions);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncFolder(dir);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private static void syncFolder(Path dir) {
    try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
      folder.force(true);
    } catch (IOException e) {
      // some file systems cannot sync a folder; the rename itself is atomic all the same
    }
  }
}
