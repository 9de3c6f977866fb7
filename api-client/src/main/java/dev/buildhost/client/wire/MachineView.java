package dev.buildhost.client.wire;

import java.time.Instant;
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
 * @param bootstrapped the machine's bootstrapped states
 */
public record MachineView(
    String name,
    Type type,
    String inService,
    List<RevisionView> revisions,
    List<String> problems,
    List<BootstrappedView> bootstrapped) {

  public MachineView {
    bootstrapped = bootstrapped == null ? List.of() : List.copyOf(bootstrapped);
  }

  /** A machine without bootstrapped states. */
  public MachineView(
      String name,
      Type type,
      String inService,
      List<RevisionView> revisions,
      List<String> problems) {
    this(name, type, inService, revisions, problems, List.of());
  }

  /**
   * A bootstrapped state of the machine.
   *
   * @param id {@code <machine>-<P.R>/<toolchain>@<short id>}
   * @param version the revision it was made from
   * @param toolchain the toolchain's name
   * @param toolchainId the toolchain's id at the bootstrap
   * @param status {@code current} (new starts use it) or {@code stale}
   * @param createdAt when it was published
   * @param instance the bootstrap instance
   * @param image the committed image (containers); null for a VM
   * @param inUse instances running on it
   */
  public record BootstrappedView(
      String id,
      String version,
      String toolchain,
      String toolchainId,
      String status,
      Instant createdAt,
      String instance,
      String image,
      List<String> inUse) {}

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
