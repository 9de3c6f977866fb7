package dev.buildhost.monitor.tmpfs;

import dev.buildhost.common.text.Texts;
import dev.buildhost.monitor.process.CommandException;
import dev.buildhost.monitor.process.CommandRunner;
import dev.buildhost.monitor.state.HostInfo;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TFTP root as a size-limited tmpfs (Build OS keeps {@code /build/tftp} in RAM): mounted with
 * {@code mount -t tmpfs -o size=SIZE,mode=0755 tmpfs DIR} when running as root and the folder is
 * not a mount point yet, and its usage reported from its {@link FileStore}.
 *
 * <p>Never over a folder that holds anything: a tmpfs mounted there would hide the folders of
 * instances that already run (their guests would upload into a folder nobody sees) and the
 * toolchain. The mount is meant to happen before the daemon starts ({@code buildhost monitor
 * --mount-tmpfs} in the unit's ExecStartPre); later it is refused.
 */
public final class TftpTmpfs {
  private static final Logger LOG = LoggerFactory.getLogger(TftpTmpfs.class);
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  private TftpTmpfs() {}

  /** What {@link #mount} did. */
  public enum Mounted {
    MOUNTED,
    ALREADY_MOUNTED,
    NOT_ROOT
  }

  /**
   * Mounts a tmpfs of {@code size} (e.g. {@code 512m}) on {@code dir}, creating the folder.
   *
   * @throws IOException when mount fails, or is refused because {@code dir} is not empty
   */
  public static Mounted mount(Path dir, String size) throws IOException {
    if (!size.matches("[0-9]{1,12}[kKmMgG%]?")) {
      throw new IllegalArgumentException("not a tmpfs size: " + size);
    }
    Files.createDirectories(dir);
    Path real = dir.toRealPath();
    if (isMountPoint(real)) {
      LOG.info(
          "{} is already a mount point ({}); not mounting a tmpfs on it",
          real,
          Files.getFileStore(real).type());
      return Mounted.ALREADY_MOUNTED;
    }
    if (!HostInfo.isRoot()) {
      LOG.warn(
          "not running as root: {} stays on {} instead of a {} tmpfs",
          real,
          Files.getFileStore(real).type(),
          size);
      return Mounted.NOT_ROOT;
    }
    List<String> present = firstEntries(real, 5);
    if (!present.isEmpty()) {
      throw new IOException(
          "refusing to mount a tmpfs over "
              + real
              + ": it is not empty (it holds "
              + String.join(", ", present)
              + (present.size() == 5 ? ", ..." : "")
              + "), and a tmpfs would hide"
              + " those files, such as the folders of instances that already run; nothing was mounted. Mount it"
              + " before the daemon starts (buildhost monitor --mount-tmpfs), or empty the folder");
    }
    try {
      CommandRunner.run(
          "mount",
          List.of(
              "mount",
              "-t",
              "tmpfs",
              "-o",
              "size=" + size + ",mode=0755",
              "tmpfs",
              real.toString()),
          null,
          Map.of(),
          Duration.ofSeconds(30));
    } catch (CommandException e) {
      throw new IOException("cannot mount a tmpfs on " + real + ": " + e.getMessage(), e);
    }
    LOG.info("mounted a {} tmpfs on {}", size, real);
    return Mounted.MOUNTED;
  }

  /** Up to {@code max} names in {@code dir}, sorted. */
  private static List<String> firstEntries(Path dir, int max) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> Texts.shown(p.getFileName().toString())).sorted().limit(max).toList();
    }
  }

  /** Whether {@code dir} (a real path) is listed as a mount point in /proc/self/mountinfo. */
  public static boolean isMountPoint(Path dir) throws IOException {
    String want = dir.toString();
    for (String line : Files.readAllLines(MOUNTINFO)) {
      String[] f = line.split(" ");
      if (f.length > 4 && unescape(f[4]).equals(want)) {
        return true;
      }
    }
    return false;
  }

  /** Usage of the file system holding {@code dir}. */
  public record Usage(String type, long total, long usable) {
    public long used() {
      return total - usable;
    }

    @Override
    public String toString() {
      long pct = total == 0 ? 0 : used() * 100 / total;
      return String.format(
          "%s: %d KiB used of %d KiB (%d%%), %d KiB free",
          type, used() / 1024, total / 1024, pct, usable / 1024);
    }
  }

  public static Usage usage(Path dir) throws IOException {
    FileStore fs = Files.getFileStore(dir);
    return new Usage(fs.type(), fs.getTotalSpace(), fs.getUsableSpace());
  }

  /** mountinfo escapes space, tab, newline and backslash as octal ({@code \040}). */
  static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
