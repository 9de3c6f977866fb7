package dev.buildhost.tftp.path;

import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Maps a requested file name to a file inside one root, or refuses it.
 *
 * <p>Names are '/'-separated paths of components made of letters, digits and {@code . _ - + = , @ ~
 * #}; no component may be empty or start with a dot (which rules out {@code .}, {@code ..}, {@code
 * ...} and the server's hidden temporary files). One leading '/' is taken to mean the root, as
 * tftpd-hpa does with {@code -s} (PXE firmware and some clients ask for {@code /pxelinux.0}):
 * {@code /a/b} is {@code a/b}, while {@code //a}, {@code /../a} and {@code /} are refused like
 * {@code /a}, {@code ../a} and the empty name. Backslashes, percent signs, spaces, control
 * characters and non-ASCII bytes are refused, so no encoding or alternative separator can smuggle a
 * parent reference in. After that check the path is resolved with symbolic links followed, and must
 * still lie inside the (real) root.
 */
public final class SafePaths {
  /** Longest accepted name, in bytes. */
  public static final int MAX_NAME_LENGTH = 255;

  /** Upload temporary files: hidden (leading dot) and with this suffix. */
  public static final String TEMP_SUFFIX = ".tftp-part";

  private final Path root;

  /**
   * @param root an existing folder; its real path (symbolic links resolved) becomes the root
   */
  public SafePaths(Path root) throws IOException {
    this.root = root.toRealPath();
    if (!Files.isDirectory(this.root)) {
      throw new NoSuchFileException(root.toString(), null, "not a directory");
    }
  }

  public Path root() {
    return root;
  }

  /**
   * The requested name relative to the root: without its one leading '/', if it has one. Only a
   * string operation; {@link #checkName} decides whether the result is acceptable.
   */
  public static String relativeName(String requested) {
    return requested.startsWith("/") ? requested.substring(1) : requested;
  }

  /** Checks the syntax of a requested name; returns it relative to the root when acceptable. */
  public static String checkName(String requested) throws TftpProtocolException {
    if (requested.length() > MAX_NAME_LENGTH) {
      throw denied("file name longer than " + MAX_NAME_LENGTH + " bytes");
    }
    String name = relativeName(requested);
    if (name.isEmpty()) {
      throw denied(requested.isEmpty() ? "empty file name" : "the root is not a file");
    }
    if (name.charAt(0) == '/') {
      throw denied("empty path component");
    }
    int componentStart = 0;
    for (int i = 0; i <= name.length(); i++) {
      char c = i < name.length() ? name.charAt(i) : '/';
      if (c == '/') {
        if (i == componentStart) {
          throw denied("empty path component");
        }
        if (name.charAt(componentStart) == '.') {
          throw denied("path components may not start with '.'");
        }
        componentStart = i + 1;
      } else if (!allowed(c)) {
        throw denied(
            String.format("character 0x%02x is not allowed in file names", (int) c & 0xff));
      }
    }
    return name;
  }

  private static boolean allowed(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '.'
        || c == '_'
        || c == '-'
        || c == '+'
        || c == '='
        || c == ','
        || c == '@'
        || c == '~'
        || c == '#';
  }

  /** The real path of an existing regular file inside the root, for reading. */
  public Path resolveForRead(String requested) throws TftpProtocolException {
    String name = checkName(requested);
    Path real;
    try {
      real = root.resolve(name).toRealPath();
    } catch (NoSuchFileException e) {
      throw new TftpProtocolException(Opcodes.ERR_FILE_NOT_FOUND, "file not found");
    } catch (AccessDeniedException e) {
      throw denied("permission denied");
    } catch (IOException e) {
      throw new TftpProtocolException(
          Opcodes.ERR_FILE_NOT_FOUND, "cannot resolve: " + e.getClass().getSimpleName());
    }
    if (!real.startsWith(root)) {
      throw denied("path leads outside the root");
    }
    if (!Files.isRegularFile(real)) {
      throw new TftpProtocolException(Opcodes.ERR_FILE_NOT_FOUND, "not a regular file");
    }
    return real;
  }

  /**
   * The path to create or replace for an upload: its folder must exist inside the root, and an
   * existing entry of that name must be a regular file (not a link, folder or device).
   */
  public Path resolveForWrite(String requestedName) throws TftpProtocolException {
    String name = checkName(requestedName);
    Path requested = root.resolve(name);
    Path parent;
    try {
      parent = requested.getParent().toRealPath();
    } catch (NoSuchFileException e) {
      throw denied("folder does not exist");
    } catch (IOException e) {
      throw denied("cannot resolve folder: " + e.getClass().getSimpleName());
    }
    if (!parent.startsWith(root)) {
      throw denied("path leads outside the root");
    }
    if (!Files.isDirectory(parent)) {
      throw denied("not a folder: " + root.relativize(parent));
    }
    Path target = parent.resolve(requested.getFileName());
    try {
      BasicFileAttributes attrs =
          Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attrs.isRegularFile()) {
        throw denied(
            attrs.isSymbolicLink()
                ? "target is a symbolic link"
                : attrs.isDirectory() ? "target is a folder" : "target is not a regular file");
      }
    } catch (NoSuchFileException e) {
      // fine: a new file
    } catch (IOException e) {
      throw denied("cannot inspect target: " + e.getClass().getSimpleName());
    }
    return target;
  }

  private static TftpProtocolException denied(String message) {
    return new TftpProtocolException(Opcodes.ERR_ACCESS_VIOLATION, message);
  }
}
