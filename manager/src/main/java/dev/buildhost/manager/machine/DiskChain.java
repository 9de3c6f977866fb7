package dev.buildhost.manager.machine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a revision's base disk reaches no file outside its revision folder. A qcow2 image may
 * name a backing file (any path, or a protocol such as {@code nbd:} or {@code json:}) and an
 * external data file; an instance's overlay chains to whatever the base names, so the guest could
 * read it. The qcow2 headers are read here, in Java, rather than with {@code qemu-img info}: that
 * would open the files the image names, which is what must not happen.
 *
 * <p>Accepted: a raw disk; a qcow2 disk without a backing file; a qcow2 disk whose backing file is
 * a regular file directly in the revision folder (by a relative or absolute name), with its format
 * recorded in the image ({@code qemu-img create -F}) as raw or qcow2, and whose own chain passes
 * the same check. Refused: anything else, with a message naming the file and the backing path.
 */
public final class DiskChain {

  /** Longer chains are not a revision's disk but a puzzle. */
  static final int MAX_DEPTH = 16;

  private static final int QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
  private static final int EXTENSION_END = 0;
  private static final int EXTENSION_BACKING_FORMAT = 0xe2792aca;
  private static final int EXTENSION_DATA_FILE = 0x44415441;
  private static final long INCOMPATIBLE_DATA_FILE = 1L << 2;

  /** qemu refuses longer backing file names. */
  private static final int MAX_BACKING_NAME = 1023;

  /** The header and its extensions lie in the first cluster (at most 2 MiB). */
  private static final int MAX_HEADER_AREA = 2 << 20;

  private DiskChain() {}

  /**
   * Checks the disk {@code diskName} of the revision folder {@code revisionDir}.
   *
   * @return null when the disk is fine, else what is wrong (naming the files concerned)
   */
  public static String problem(Path revisionDir, String diskName) {
    DiskFormat format = DiskFormat.ofFileName(diskName).orElse(null);
    if (format == null) {
      return "'"
          + diskName
          + "' does not tell its format: "
          + DiskFormat.RULE
          + " (the format is never guessed from the content)";
    }
    Path folder;
    try {
      folder = revisionDir.toRealPath();
    } catch (IOException e) {
      return "cannot resolve the revision folder " + revisionDir + ": " + e.getMessage();
    }
    Set<Path> seen = new HashSet<>();
    Path image = folder.resolve(diskName);
    List<String> chain = new ArrayList<>();
    chain.add(diskName);
    for (int depth = 0; format == DiskFormat.QCOW2; depth++) {
      if (depth >= MAX_DEPTH) {
        return "'"
            + diskName
            + "' has a backing chain longer than "
            + MAX_DEPTH
            + " images: "
            + String.join(" -> ", chain);
      }
      if (!seen.add(image)) {
        return "'" + diskName + "' has a backing chain that loops: " + String.join(" -> ", chain);
      }
      Qcow2Header header;
      try {
        header = Qcow2Header.read(image);
      } catch (IOException e) {
        return "cannot read " + image + ": " + e.getMessage();
      }
      String name = image.getFileName().toString();
      if (header.problem() != null) {
        return "'" + name + "' is declared qcow2 by its name but " + header.problem();
      }
      if (header.dataFile() != null || header.hasExternalDataFile()) {
        return "'"
            + name
            + "' keeps its data in an external file"
            + (header.dataFile() == null ? "" : " '" + printable(header.dataFile()) + "'")
            + ": a base disk must hold its own data (qemu-img convert it into a plain qcow2)";
      }
      String backing = header.backingFile();
      if (backing == null) {
        return null;
      }
      String shown = "'" + printable(backing) + "'";
      String outside =
          "'"
              + name
              + "' has the backing file "
              + shown
              + ", outside its revision folder "
              + folder
              + ": a base disk may only be backed by a file of its own revision";
      if (backing.isEmpty()
          || backing.indexOf(':') >= 0
          || backing.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        return outside + " (protocols, options and control characters are refused)";
      }
      Path target =
          (backing.startsWith("/") ? Path.of(backing) : image.getParent().resolve(backing))
              .normalize();
      if (!folder.equals(target.getParent())) {
        return outside;
      }
      if (Files.isSymbolicLink(target)) {
        return "'"
            + name
            + "' has the backing file "
            + shown
            + ", a symbolic link: copy the file into the revision";
      }
      if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
        return "'"
            + name
            + "' has the backing file "
            + shown
            + ", which is not a file in "
            + folder;
      }
      if (header.backingFormat() == null) {
        return "'"
            + name
            + "' has the backing file "
            + shown
            + " without its format: record it (qemu-img rebase -u -F "
            + "raw|qcow2 -b "
            + target.getFileName()
            + " "
            + name
            + ")";
      }
      DiskFormat next = DiskFormat.ofQemuName(header.backingFormat()).orElse(null);
      if (next == null) {
        return "'"
            + name
            + "' has the backing file "
            + shown
            + " of format '"
            + printable(header.backingFormat())
            + "': only raw and qcow2 are accepted";
      }
      chain.add(target.getFileName().toString());
      image = target;
      format = next;
    }
    return null;
  }

  private static String printable(String text) {
    return ManifestLexer.printable(text);
  }

  /**
   * What buildhost needs from a qcow2 header (version 2 or 3): the backing file's name and format
   * and whether the data lies in an external file.
   *
   * @param problem why the file is no qcow2 image, or null
   */
  record Qcow2Header(
      String problem,
      String backingFile,
      String backingFormat,
      String dataFile,
      boolean hasExternalDataFile) {

    static Qcow2Header invalid(String problem) {
      return new Qcow2Header(problem, null, null, null, false);
    }

    static Qcow2Header read(Path file) throws IOException {
      try (FileChannel channel =
          FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        long size = channel.size();
        if (size < 72) {
          return invalid("is " + size + " bytes, too short for a qcow2 header");
        }
        ByteBuffer head = ByteBuffer.allocate(104);
        readFully(channel, head, 0);
        head.flip();
        if (head.getInt(0) != QCOW2_MAGIC) {
          return invalid("does not start with the qcow2 magic 'QFI\\xfb'");
        }
        int version = head.getInt(4);
        if (version != 2 && version != 3) {
          return invalid("has qcow2 version " + version + " (2 and 3 are known)");
        }
        long backingOffset = head.getLong(8);
        int backingSize = head.getInt(16);
        int clusterBits = head.getInt(20);
        if (clusterBits < 9 || clusterBits > 21) {
          return invalid("has an invalid cluster size (2^" + clusterBits + " bytes)");
        }
        long incompatible = 0;
        int headerLength = 72;
        if (version == 3) {
          if (head.limit() < 104) {
            return invalid("is too short for a qcow2 version 3 header");
          }
          incompatible = head.getLong(72);
          headerLength = head.getInt(100);
          if (headerLength < 104 || headerLength % 8 != 0) {
            return invalid("has an invalid qcow2 header length " + headerLength);
          }
        }
        int area = (int) Math.min(Math.min(1L << clusterBits, MAX_HEADER_AREA), size);
        ByteBuffer first = ByteBuffer.allocate(area);
        readFully(channel, first, 0);
        first.flip();

        String backingFile = null;
        if (backingOffset != 0) {
          if (backingSize < 0
              || backingSize > MAX_BACKING_NAME
              || backingOffset < 0
              || backingOffset + backingSize > area) {
            return invalid(
                "has a backing file name out of bounds (offset "
                    + backingOffset
                    + ", "
                    + backingSize
                    + " bytes)");
          }
          backingFile = string(first, (int) backingOffset, backingSize);
        }
        String backingFormat = null;
        String dataFile = null;
        // Like qemu: the extensions end at a zero type, or where the backing file name begins.
        long end = backingOffset != 0 ? Math.min(backingOffset, area) : area;
        int at = headerLength;
        while (at + 8L <= end) {
          int type = first.getInt(at);
          int length = first.getInt(at + 4);
          if (type == EXTENSION_END) {
            break;
          }
          if (length < 0 || at + 8L + length > end) {
            return invalid("has a header extension running past its header area");
          }
          if (type == EXTENSION_BACKING_FORMAT) {
            backingFormat = string(first, at + 8, length);
          } else if (type == EXTENSION_DATA_FILE) {
            dataFile = string(first, at + 8, length);
          }
          at += 8 + ((length + 7) & ~7);
        }
        return new Qcow2Header(
            null,
            backingFile,
            backingFormat,
            dataFile,
            (incompatible & INCOMPATIBLE_DATA_FILE) != 0);
      }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
        throws IOException {
      long at = position;
      while (buffer.hasRemaining()) {
        int n = channel.read(buffer, at);
        if (n < 0) {
          return;
        }
        at += n;
      }
    }

    private static String string(ByteBuffer buffer, int offset, int length) {
      byte[] bytes = new byte[length];
      buffer.get(offset, bytes);
      int end = 0;
      while (end < length && bytes[end] != 0) {
        end++;
      }
      return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }
  }
}
