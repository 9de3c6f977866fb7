package dev.buildhost.manager.machine;

import java.nio.file.Path;

/**
 * One read-only revision of a machine: {@code <root>/machines/<name>/<name>-<P>.<R>/}.
 *
 * @param machine the machine name
 * @param version "P.R"
 * @param dir the revision folder (real path, not the symlink)
 */
public record Revision(String machine, String version, Path dir, Manifest manifest) {

  /** A file of the revision named by the manifest (disk, kernel, initrd, image). */
  public Path file(String relativeName) {
    return dir.resolve(relativeName);
  }
}
