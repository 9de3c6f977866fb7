package dev.buildhost.manager.config;

import dev.buildhost.client.DaemonEndpoint;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Validated settings of the machine manager. Every path follows from {@code root} except the state
 * folder.
 *
 * @param root {@code /build} by default: holds machines/, tftp/, instances/
 * @param stateDir small persistent state (journal); {@code /state/buildhost} by default
 * @param tftpPortFirst first port of the per-instance writable TFTP range (inclusive)
 * @param tftpPortLast last port of the range (inclusive)
 * @param maxInstances instances that may run at once
 * @param ramBudgetMib RAM all running instances may claim together (manifest ram-minimum)
 * @param defaultTimeout how long an instance may run when the request names no timeout
 * @param poweroffGrace how long poweroff waits for the guest before killing it
 * @param acceleration VM acceleration choice
 * @param libvirtUri e.g. {@code qemu:///system}
 * @param dockerHost e.g. {@code unix:///var/run/docker.sock}
 * @param dockerNetworkMode network mode of containers ({@code host} lets them reach 127.0.0.1) in
 *     the fallback mode (no bridge network); with a bridge network containers always get {@code
 *     none} and a veth of their own
 * @param tftpUploadLimits what a guest may upload into its instance's TFTP folder, unless its
 *     manifest sets other limits
 * @param containerLimits the capabilities and processes a container has, unless its manifest sets
 *     other limits
 */
public record ManagerConfig(
    Path root,
    Path stateDir,
    int tftpPortFirst,
    int tftpPortLast,
    int maxInstances,
    long ramBudgetMib,
    Duration defaultTimeout,
    Duration poweroffGrace,
    Acceleration acceleration,
    String libvirtUri,
    String dockerHost,
    String dockerNetworkMode,
    UploadLimits tftpUploadLimits,
    ContainerLimits containerLimits) {

  public ManagerConfig {
    if (tftpUploadLimits == null) {
      throw new IllegalArgumentException("the TFTP upload limits must be given");
    }
    if (containerLimits == null) {
      throw new IllegalArgumentException("the container limits must be given");
    }
  }

  /**
   * Settings with the {@linkplain UploadLimits#DEFAULTS default upload limits} and {@linkplain
   * ContainerLimits#DEFAULTS default container limits}.
   */
  public ManagerConfig(
      Path root,
      Path stateDir,
      int tftpPortFirst,
      int tftpPortLast,
      int maxInstances,
      long ramBudgetMib,
      Duration defaultTimeout,
      Duration poweroffGrace,
      Acceleration acceleration,
      String libvirtUri,
      String dockerHost,
      String dockerNetworkMode) {
    this(
        root,
        stateDir,
        tftpPortFirst,
        tftpPortLast,
        maxInstances,
        ramBudgetMib,
        defaultTimeout,
        poweroffGrace,
        acceleration,
        libvirtUri,
        dockerHost,
        dockerNetworkMode,
        UploadLimits.DEFAULTS,
        ContainerLimits.DEFAULTS);
  }

  /** These settings with other TFTP upload limits. */
  public ManagerConfig withTftpUploadLimits(UploadLimits limits) {
    return new ManagerConfig(
        root,
        stateDir,
        tftpPortFirst,
        tftpPortLast,
        maxInstances,
        ramBudgetMib,
        defaultTimeout,
        poweroffGrace,
        acceleration,
        libvirtUri,
        dockerHost,
        dockerNetworkMode,
        limits,
        containerLimits);
  }

  /** These settings with other container limits. */
  public ManagerConfig withContainerLimits(ContainerLimits limits) {
    return new ManagerConfig(
        root,
        stateDir,
        tftpPortFirst,
        tftpPortLast,
        maxInstances,
        ramBudgetMib,
        defaultTimeout,
        poweroffGrace,
        acceleration,
        libvirtUri,
        dockerHost,
        dockerNetworkMode,
        tftpUploadLimits,
        limits);
  }

  public Path machinesDir() {
    return root.resolve("machines");
  }

  public Path tftpDir() {
    return root.resolve("tftp");
  }

  public Path instancesDir() {
    return root.resolve("instances");
  }

  /**
   * Defaults for a given root. The state folder is where the CLI looks for a daemon of that root
   * ({@link DaemonEndpoint#defaultStateDir}): under the root unless it is /build.
   */
  public static ManagerConfig defaults(Path root) {
    return new ManagerConfig(
        root,
        DaemonEndpoint.defaultStateDir(root),
        10000,
        10999,
        8,
        16384,
        Duration.ofHours(2),
        Duration.ofSeconds(30),
        Acceleration.AUTO,
        "qemu:///system",
        "unix:///var/run/docker.sock",
        "host");
  }
}
