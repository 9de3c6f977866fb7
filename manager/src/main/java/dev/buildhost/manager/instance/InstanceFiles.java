package dev.buildhost.manager.instance;

import dev.buildhost.common.files.AtomicFiles;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.ManagerException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Files of an instance's TFTP folder as the API sees them: flat, visible names only. Names that
 * could leave the folder ({@code ..}, {@code /}) or that are hidden ({@code .name}, where writes in
 * progress live) are refused.
 */
final class InstanceFiles {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}");

  /**
   * rw-r--r--, what a guest's own TFTP uploads get: an agent that reads the folder as another user
   * can read the task and files it was given. Nothing here is secret: the read-only TFTP server
   * serves every instance folder to local processes anyway (doc/security.md).
   */
  static final Set<PosixFilePermission> MODE = PosixFilePermissions.fromString("rw-r--r--");

  private InstanceFiles() {}

  /**
   * Returns {@code name} if it is a plain visible file name; BAD_REQUEST naming the rule otherwise.
   */
  static String checkName(String name) {
    if (name == null || name.isEmpty()) {
      throw new ManagerException(ManagerException.Kind.BAD_REQUEST, "a file name is required");
    }
    if (!NAME.matcher(name).matches() || name.contains("..")) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST,
          "bad file name '"
              + printable(name)
              + "': use 1-255 characters of A-Z a-z 0-9 . _ + -, not starting with '.' or '-', without '..' or '/'");
    }
    return name;
  }

  /**
   * Writes {@code content} to {@code folder/name} with {@link AtomicFiles} (a hidden temporary file
   * and a rename), mode {@link #MODE}. The folder must exist: a write must not bring back the
   * folder of an instance deleted meanwhile.
   */
  static void put(Path folder, String name, InputStream content) throws IOException {
    Path target = folder.resolve(checkName(name));
    if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
      throw new NoSuchFileException(folder.toString(), null, "no such folder");
    }
    AtomicFiles.write(target, content::transferTo, MODE);
  }

  static void put(Path folder, String name, byte[] content) throws IOException {
    put(folder, name, new ByteArrayInputStream(content));
  }

  static InputStream open(Path folder, String name) throws IOException {
    Path file = folder.resolve(checkName(name));
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new ManagerException(
          ManagerException.Kind.NOT_FOUND, "no file '" + name + "' in the instance folder");
    }
    return Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
  }

  static List<FileEntry> list(Path folder) throws IOException {
    List<FileEntry> entries = new ArrayList<>();
    if (!Files.isDirectory(folder)) {
      return entries;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(folder)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (name.startsWith(".")) {
          continue;
        }
        BasicFileAttributes attributes =
            Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attributes.isRegularFile()) {
          entries.add(
              new FileEntry(name, attributes.size(), attributes.lastModifiedTime().toInstant()));
        }
      }
    }
    entries.sort(Comparator.comparing(FileEntry::name));
    return entries;
  }

  // --- the API's file calls: what goes wrong becomes a ManagerException naming the instance ---

  static void putFile(String id, Path folder, String name, InputStream content) {
    checkName(name);
    try {
      put(folder, name, content);
    } catch (IOException e) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot write " + name + " into the folder of instance " + id + ": " + e.getMessage(),
          e);
    }
  }

  static InputStream openFile(String id, Path folder, String name) {
    try {
      return open(folder, name);
    } catch (IOException e) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot read " + name + " of instance " + id + ": " + e.getMessage(),
          e);
    }
  }

  static List<FileEntry> listFiles(String id, Path folder) {
    try {
      return list(folder);
    } catch (IOException e) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot list the folder of instance " + id + ": " + e.getMessage(),
          e);
    }
  }

  static InputStream openConsoleLog(String id, Path instanceDir) {
    Path log = instanceDir.resolve("console.log");
    try {
      return Files.newInputStream(log, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new ManagerException(
          ManagerException.Kind.NOT_FOUND,
          "instance " + id + " has no console log yet; its guest has not written any output");
    } catch (IOException e) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot read the console log of instance " + id + ": " + e.getMessage(),
          e);
    }
  }

  /**
   * Deletes an instance's TFTP folder and instance folder, as {@code delete} does.
   *
   * @throws ManagerException naming the instance when a folder cannot be deleted
   */
  static void deleteFolders(TrackedInstance tracked) {
    try {
      deleteTree(tracked.tftpDir);
      deleteTree(tracked.instanceDir);
    } catch (IOException e) {
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot delete the folders of instance " + tracked.id() + ": " + e.getMessage(),
          e);
    }
  }

  /** Deletes a folder and all in it; a folder that does not exist is fine. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (UncheckedIOException e) {
      // A file the release of a stopped guest removes meanwhile (its overlay) is gone as wanted.
      if (!(e.getCause() instanceof NoSuchFileException)) {
        throw e.getCause();
      }
      deleteTree(dir);
    } catch (NoSuchFileException e) {
      deleteTree(dir);
    }
  }

  private static String printable(String name) {
    StringBuilder out = new StringBuilder();
    for (char c : name.substring(0, Math.min(name.length(), 80)).toCharArray()) {
      out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
    }
    return name.length() > 80 ? out + "..." : out.toString();
  }
}
