package dev.buildhost.manager.bootstrap;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;

/**
 * A published bootstrapped state: what a bootstrap instance of one machine revision left for one
 * toolchain version, kept read-only under {@code <state>/bootstrapped/}. This is its {@code
 * state.json}.
 *
 * @param machine the machine
 * @param version the revision ("P.R") it was made from
 * @param revisionDir that revision's folder
 * @param type {@code kvm} or {@code docker}
 * @param toolchain the toolchain name
 * @param toolchainId the toolchain's id at the bootstrap
 * @param instance the bootstrap instance
 * @param createdAt when it was published
 * @param disk the VM layer's file name in the state's folder; null for a container
 * @param image the committed image's id; null for a VM
 */
public record BootstrappedState(
    String machine,
    String version,
    String revisionDir,
    String type,
    String toolchain,
    String toolchainId,
    String instance,
    Instant createdAt,
    String disk,
    String image) {

  /** {@code <machine>-<version>/<toolchain>@<first 12 characters of the id>}. */
  @JsonIgnore
  public String id() {
    String shortId = toolchainId.length() > 12 ? toolchainId.substring(0, 12) : toolchainId;
    return machine + "-" + version + "/" + toolchain + "@" + shortId;
  }
}
