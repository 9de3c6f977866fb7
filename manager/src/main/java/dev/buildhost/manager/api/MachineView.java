package dev.buildhost.manager.api;

import dev.buildhost.manager.machine.Machine;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import java.util.List;

/**
 * A machine as the API shows it.
 *
 * @param name      the machine name
 * @param type      the type of the revision in service (else of the newest revision); null if none
 * @param inService the version ("P.R") new instances run; null when none is usable
 * @param revisions every valid revision, oldest first
 * @param problems  what is wrong with the machine's folder, each naming the file
 */
public record MachineView(String name, MachineType type, String inService, List<RevisionView> revisions,
                          List<String> problems) {

  /**
   * One revision.
   *
   * @param version   "P.R"
   * @param dir       the revision's folder
   * @param inService whether new instances run this revision
   * @param manifest  the revision's validated manifest
   */
  public record RevisionView(String version, String dir, boolean inService, Manifest manifest) {
  }

  public static MachineView of(Machine machine) {
    Revision current = machine.inService();
    List<RevisionView> revisions = machine.revisions().stream()
        .map(r -> new RevisionView(r.version(), r.dir().toString(),
            current != null && current.version().equals(r.version()), r.manifest()))
        .toList();
    Revision typed = current != null ? current
        : machine.revisions().isEmpty() ? null : machine.revisions().get(machine.revisions().size() - 1);
    return new MachineView(machine.name(), typed == null ? null : typed.manifest().type(),
        current == null ? null : current.version(), revisions, machine.problems());
  }

  /** The revision in service, if any. */
  public Manifest inServiceManifest() {
    return revisions.stream().filter(RevisionView::inService).map(RevisionView::manifest).findFirst().orElse(null);
  }
}
