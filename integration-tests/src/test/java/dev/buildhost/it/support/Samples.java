package dev.buildhost.it.support;

import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.ManifestParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * The sample machines built by {@code scripts/build-samples DIR}: DIR comes from the system
 * property {@code buildhost.samples} (set by the integration-tests pom), by default {@code
 * <repo>/build/samples}.
 */
public final class Samples {

  public static final String VM = "sample-vm";
  public static final String CONTAINER = "sample-container";

  private Samples() {}

  public static Path dir() {
    String configured = System.getProperty("buildhost.samples");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath();
    }
    return repository().resolve("build/samples");
  }

  /**
   * Opens a test's scratch folder (JUnit makes it 0700) to others, as a daemon's root must be: QEMU
   * runs as libvirt's own user (libvirt-qemu), which must pass through it to the revision's files
   * and the instance's overlay and console log. Returns {@code dir}.
   */
  public static Path passableByQemu(Path dir) throws IOException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** The machines folder inside {@link #dir()} (the layout of ARCHITECTURE.md). */
  public static Path machines() {
    return dir().resolve("machines");
  }

  /** The real path of the revision in service: {@code machines/NAME/NAME-1}, symlink resolved. */
  public static Path revision(String machine) {
    Path link = machines().resolve(machine).resolve(machine + "-1");
    if (!Files.isRegularFile(link.resolve("manifest"))) {
      return Requirement.unmet(
          "sample machine "
              + machine
              + " is not built: no "
              + link.resolve("manifest")
              + " (scripts/build-samples "
              + dir()
              + ")");
    }
    try {
      return link.toRealPath();
    } catch (IOException e) {
      return Requirement.unmet("cannot resolve " + link + ": " + e);
    }
  }

  /**
   * Copies the files of {@code machine}'s revision in service into {@code into} (made), for a test
   * that hands them to libvirt itself: libvirt gives them to QEMU's user while the domain runs.
   * Returns {@code into}.
   */
  public static Path copyOfRevision(String machine, Path into) throws IOException {
    Path revision = revision(machine);
    Files.createDirectories(into);
    try (Stream<Path> files = Files.list(revision)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, into.resolve(file.getFileName().toString()));
      }
    }
    return into;
  }

  /**
   * Mirrors a folder with hard links (the revisions are read-only), keeping symlinks as they are;
   * files on another file system are copied.
   */
  public static void linkTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path source : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isSymbolicLink(source)) {
          Files.createSymbolicLink(target, Files.readSymbolicLink(source));
        } else if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          try {
            Files.createLink(target, source);
          } catch (IOException | UnsupportedOperationException e) {
            Files.copy(source, target);
          }
        }
      }
    }
  }

  /** The manifest of the revision in service, read by the manager's own parser. */
  public static Manifest manifest(String machine) {
    return ManifestParser.parse(revision(machine).resolve("manifest"), machine);
  }

  /** The repository's top folder: property {@code buildhost.repo}, else found upwards from here. */
  public static Path repository() {
    String configured = System.getProperty("buildhost.repo");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("scripts/build-samples"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository (no scripts/build-samples above "
            + Path.of("").toAbsolutePath()
            + "); set -Dbuildhost.repo");
  }
}
