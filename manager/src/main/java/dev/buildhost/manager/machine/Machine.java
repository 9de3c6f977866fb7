package dev.buildhost.manager.machine;

import java.util.List;

/**
 * One machine of the library as found by the latest scan.
 *
 * @param name the machine name (its folder under the machines directory)
 * @param revisions the revisions whose manifests are valid, oldest first (P, then R, numerically)
 * @param inService the revision the highest {@code <name>-<P>} symlink that resolves points at, or
 *     null when none does or that revision is broken (see {@code problems})
 * @param problems human-readable problems found while scanning, each naming the file (and line and
 *     field for manifest problems); empty when the machine is healthy
 */
public record Machine(
    String name, List<Revision> revisions, Revision inService, List<String> problems) {

  public Machine {
    revisions = List.copyOf(revisions);
    problems = List.copyOf(problems);
  }

  /** True when a revision is in service, whatever other problems were found. */
  public boolean usable() {
    return inService != null;
  }
}
