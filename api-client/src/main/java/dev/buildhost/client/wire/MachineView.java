package dev.buildhost.client.wire;

import java.util.List;
import java.util.Locale;

/**
 * A machine, as {@code GET /v1/machines} shows it.
 *
 * @param name the machine name
 * @param type the type of the revision in service (else of the newest revision); null if none
 * @param inService the version ("P.R") new instances run; null when none is usable
 * @param revisions every valid revision, oldest first
 * @param problems what is wrong with the machine's folder, each naming the file
 */
public record MachineView(
    String name, Type type, String inService, List<RevisionView> revisions, List<String> problems) {

  /** Which backend runs a machine's instances. */
  public enum Type {
    KVM,
    DOCKER;

    /** The word a manifest's {@code type} field uses: kvm, docker. */
    public String manifestValue() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * One revision.
   *
   * @param version "P.R"
   * @param dir the revision's folder
   * @param inService whether new instances run this revision
   * @param manifest the revision's validated manifest
   */
  public record RevisionView(
      String version, String dir, boolean inService, ManifestView manifest) {}

  /** The manifest of the revision in service, or null. */
  public ManifestView inServiceManifest() {
    return revisions.stream()
        .filter(RevisionView::inService)
        .map(RevisionView::manifest)
        .findFirst()
        .orElse(null);
  }
}
