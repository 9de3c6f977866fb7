package dev.buildhost.manager.docker;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import java.util.List;
import java.util.Map;

/**
 * The container an instance gets, worked out from its launch spec and manifest before the engine is
 * asked for anything.
 *
 * @param command the process to run; empty for the image's own entrypoint and command
 * @param memoryBytes memory limit ({@code ram-maximum}, else {@code ram-minimum}); null for none
 * @param nanoCpus CPU limit ({@code cpus}, at most the engine's CPU count); null for none
 */
record ContainerPlan(
    String name,
    String image,
    Map<String, String> labels,
    List<String> env,
    List<String> command,
    Long memoryBytes,
    Long nanoCpus,
    String networkMode) {

  private static final long MIB = 1024L * 1024L;

  /**
   * @param root the manager's root folder, recorded in a label so that managers sharing an engine
   *     each find only their own containers
   * @param tftpEndpoint where the guest finds its TFTP server, {@code host:port}
   * @param engineCpus how many CPUs the engine has
   */
  static ContainerPlan of(
      LaunchSpec spec,
      String image,
      String root,
      String networkMode,
      String tftpEndpoint,
      int engineCpus)
      throws BackendException {
    Revision revision = spec.revision();
    Manifest manifest = revision.manifest();
    Long ramMib =
        manifest.ramMaximumMib() != null ? manifest.ramMaximumMib() : manifest.ramMinimumMib();
    Long nanoCpus =
        manifest.cpus() == null
            ? null
            : Math.max(1, Math.min(manifest.cpus(), engineCpus)) * 1_000_000_000L;
    return new ContainerPlan(
        DockerBackend.containerName(spec.instanceId()),
        image,
        Map.of(
            DockerBackend.LABEL_INSTANCE, spec.instanceId(),
            DockerBackend.LABEL_MACHINE, revision.machine(),
            DockerBackend.LABEL_REVISION, revision.version(),
            DockerBackend.LABEL_ROOT, root),
        List.of("BUILDHOST_TFTP=" + tftpEndpoint, "BUILDHOST_INSTANCE=" + spec.instanceId()),
        command(revision),
        ramMib == null ? null : ramMib * MIB,
        nanoCpus,
        networkMode);
  }

  private static List<String> command(Revision revision) throws BackendException {
    String command = revision.manifest().command();
    if (command == null) {
      return List.of();
    }
    try {
      return CommandLine.split(command);
    } catch (IllegalArgumentException e) {
      throw new BackendException(
          revision.dir().resolve("manifest") + ": field `command`: " + e.getMessage(), e);
    }
  }
}
