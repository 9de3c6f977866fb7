package dev.buildhost.manager.docker;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import java.util.List;
import java.util.Map;

/**
 * What every container gets in either network mode, because it runs an untrusted build: only the
 * capabilities a build uses (root in the container may still own, read and write its own files,
 * change to another user and signal its processes), no privileges gained through setuid files, a
 * cap on its processes, and an engine log that cannot fill the disk.
 *
 * <p>Dropped from Docker's default set: {@code NET_RAW} (raw and packet sockets: sniffing, forged
 * packets), {@code MKNOD}, {@code SETFCAP}, {@code SETPCAP}, {@code NET_BIND_SERVICE}, {@code
 * SYS_CHROOT} and {@code AUDIT_WRITE}.
 */
final class ContainerHardening {

  /** The capabilities a container keeps; every other one is dropped. */
  static final List<Capability> KEPT_CAPABILITIES =
      List.of(
          Capability.CHOWN,
          Capability.DAC_OVERRIDE,
          Capability.FOWNER,
          Capability.FSETID,
          Capability.KILL,
          Capability.SETGID,
          Capability.SETUID);

  /** Processes (and threads) a container may have at once: a fork bomb stops there. */
  static final long PIDS_LIMIT = 1024;

  /**
   * The engine's own log of a container (json-file, what {@link ConsoleCapture} reads) keeps at
   * most this much, in two files, so a flood of output costs the host at most twice this.
   */
  static final long ENGINE_LOG_FILE_BYTES = ConsoleCapture.MAX_KEPT_BYTES;

  private ContainerHardening() {}

  static void apply(HostConfig host) {
    host.withCapDrop(Capability.ALL)
        .withCapAdd(KEPT_CAPABILITIES.toArray(Capability[]::new))
        .withSecurityOpts(List.of("no-new-privileges"))
        .withPidsLimit(PIDS_LIMIT)
        .withLogConfig(
            new LogConfig(
                LogConfig.LoggingType.JSON_FILE,
                Map.of("max-size", Long.toString(ENGINE_LOG_FILE_BYTES), "max-file", "2")));
  }
}
