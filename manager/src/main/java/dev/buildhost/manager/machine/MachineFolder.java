package dev.buildhost.manager.machine;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One listing of a machine folder {@code <machines>/<name>/}: its revision folders {@code
 * <name>-<P>.<R>/}, its service symlinks {@code <name>-<P>}, and what did not fit. Manifests are
 * parsed on demand, so picking the revision in service reads one manifest only.
 */
final class MachineFolder {

  /** The revision in service: which version, and the symlink that chose it. */
  record Service(RevisionVersion version, Path link) {}

  private final String name;
  private final Path dir;

  /** Revision folders by version, as real paths (a swapped symlink never changes them). */
  private final TreeMap<RevisionVersion, Path> revisionDirs = new TreeMap<>();

  /** Service symlinks by major version. */
  private final TreeMap<Integer, Path> links = new TreeMap<>();

  private final List<String> problems = new ArrayList<>();
  private boolean unlisted;

  private MachineFolder(String name, Path dir) {
    this.name = name;
    this.dir = dir;
  }

  static MachineFolder read(String name, Path dir) {
    MachineFolder folder = new MachineFolder(name, dir);
    folder.list();
    return folder;
  }

  private void list() {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        classify(entry);
      }
    } catch (IOException e) {
      unlisted = true;
      problems.add(dir + ": cannot list the machine folder: " + e.getMessage());
    }
  }

  private void classify(Path entry) {
    String entryName = entry.getFileName().toString();
    if (entryName.startsWith(".")) {
      return; // hidden: e.g. a revision still being copied in under a temporary name
    }
    String prefix = name + "-";
    String suffix = entryName.startsWith(prefix) ? entryName.substring(prefix.length()) : "";
    Optional<RevisionVersion> version = RevisionVersion.parse(suffix);
    Optional<Integer> major = RevisionVersion.parseMajor(suffix);
    if (version.isPresent()) {
      if (!Files.isDirectory(entry)) {
        problems.add(entry + ": a revision must be a folder (holding a manifest)");
        return;
      }
      try {
        revisionDirs.put(version.get(), entry.toRealPath());
      } catch (IOException e) {
        problems.add(entry + ": cannot resolve the revision folder: " + e.getMessage());
      }
    } else if (major.isPresent()) {
      if (!Files.isSymbolicLink(entry)) {
        problems.add(
            entry
                + ": must be a symbolic link to the revision in service (e.g. "
                + name
                + "-"
                + major.get()
                + " -> "
                + name
                + "-"
                + major.get()
                + ".0), not a "
                + (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) ? "folder" : "file"));
        return;
      }
      links.put(major.get(), entry);
    } else {
      problems.add(
          entry
              + ": unexpected entry; a machine folder holds revision folders "
              + name
              + "-<P>.<R>/ and service symlinks "
              + name
              + "-<P> (P, R: integers without "
              + "leading zeros)");
    }
  }

  /**
   * The revision in service: the one the highest {@code <name>-<P>} symlink that resolves to a
   * revision folder {@code <name>-<P>.<R>} of this machine points at. Links that do not resolve are
   * recorded as problems and passed over, so a dangling {@code x-2} leaves {@code x-1} in service.
   * The chosen revision's manifest is not read here.
   */
  Optional<Service> service() {
    Service chosen = null;
    for (Map.Entry<Integer, Path> link : links.descendingMap().entrySet()) {
      Optional<RevisionVersion> target = resolve(link.getKey(), link.getValue());
      if (target.isPresent() && chosen == null) {
        chosen = new Service(target.get(), link.getValue());
      }
    }
    return Optional.ofNullable(chosen);
  }

  private Optional<RevisionVersion> resolve(int major, Path link) {
    String shownTarget;
    try {
      shownTarget = Files.readSymbolicLink(link).toString();
    } catch (IOException e) {
      problems.add(link + ": cannot read the symlink: " + e.getMessage());
      return Optional.empty();
    }
    Path real;
    try {
      real = link.toRealPath();
    } catch (NoSuchFileException e) {
      problems.add(link + " -> " + shownTarget + ": dangling symlink (the target does not exist)");
      return Optional.empty();
    } catch (IOException e) {
      problems.add(link + " -> " + shownTarget + ": cannot resolve: " + e.getMessage());
      return Optional.empty();
    }
    for (Map.Entry<RevisionVersion, Path> revision : revisionDirs.entrySet()) {
      if (revision.getValue().equals(real)) {
        if (revision.getKey().major() != major) {
          problems.add(
              link
                  + " -> "
                  + shownTarget
                  + ": points at a revision of major version "
                  + revision.getKey().major()
                  + "; "
                  + name
                  + "-"
                  + major
                  + " must point at a "
                  + name
                  + "-"
                  + major
                  + ".<R> folder");
          return Optional.empty();
        }
        return Optional.of(revision.getKey());
      }
    }
    problems.add(
        link
            + " -> "
            + shownTarget
            + ": not a revision folder "
            + name
            + "-"
            + major
            + ".<R> of this machine");
    return Optional.empty();
  }

  /** Parses the manifest of one listed revision; throws {@link ManifestException}. */
  Revision load(RevisionVersion version) {
    Path revisionDir = revisionDirs.get(version);
    Manifest manifest = ManifestParser.parse(revisionDir.resolve("manifest"), name);
    return new Revision(name, version.toString(), revisionDir, manifest);
  }

  /** Every listed version, oldest first. */
  List<RevisionVersion> versions() {
    return List.copyOf(revisionDirs.keySet());
  }

  /** False when the folder could not be listed: then {@link #versions} may miss some. */
  boolean listed() {
    return !unlisted;
  }

  boolean hasLinks() {
    return !links.isEmpty();
  }

  /** Layout problems found so far (listing, and links once {@link #service()} ran). */
  List<String> problems() {
    return problems;
  }
}
