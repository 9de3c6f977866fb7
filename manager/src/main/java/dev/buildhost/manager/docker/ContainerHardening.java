package dev.buildhost.manager.docker;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import dev.buildhost.manager.config.ContainerLimits;
import java.util.List;
import java.util.Map;

/**
 * What every container gets in either network mode, because it runs an untrusted build: only the
 * capabilities its {@link ContainerLimits} keep (by default what a build uses: root in the
 * container may still own, read and write its own files, change to another user and signal its
 * processes), no privileges gained through setuid files, a cap on its processes, and an engine log
 * that cannot fill the disk.
 */
final class ContainerHardening {

  /**
   * The engine's own log of a container (json-file, what {@link ConsoleCapture} reads after a
   * restart) keeps at most this much, in two files, so a flood of output costs the host at most
   * twice this.
   */
  static final long ENGINE_LOG_FILE_BYTES = ConsoleCapture.MAX_KEPT_BYTES;

  private ContainerHardening() {}

  /** Applies the hardening with {@code limits}' capabilities and pids limit. */
  static void apply(HostConfig host, ContainerLimits limits) {
    host.withCapDrop(Capability.ALL)
        .withCapAdd(
            limits.capabilities().stream().map(Capability::valueOf).toArray(Capability[]::new))
        .withSecurityOpts(List.of("no-new-privileges"))
        .withPidsLimit(limits.pidsLimit())
        .withLogConfig(
            new LogConfig(
                LogConfig.LoggingType.JSON_FILE,
                Map.of("max-size", Long.toString(ENGINE_LOG_FILE_BYTES), "max-file", "2")));
  }
}
