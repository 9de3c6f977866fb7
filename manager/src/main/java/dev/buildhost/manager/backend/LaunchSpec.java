package dev.buildhost.manager.backend;

import dev.buildhost.manager.machine.Revision;
import java.nio.file.Path;

/**
 * What a backend needs to launch one instance.
 *
 * @param instanceId unique id, also the label/name the backend puts on the domain or container
 * @param revision the machine revision the instance runs (fixed for the instance's life)
 * @param instanceDir {@code <root>/instances/<id>/}: overlay disk, console.log
 * @param tftpPort the instance's writable TFTP port on 127.0.0.1
 * @param layer the bootstrapped state the instance starts from; null for the bare revision
 */
public record LaunchSpec(
    String instanceId, Revision revision, Path instanceDir, int tftpPort, StartLayer layer) {

  /** An instance of the bare revision. */
  public LaunchSpec(String instanceId, Revision revision, Path instanceDir, int tftpPort) {
    this(instanceId, revision, instanceDir, tftpPort, null);
  }

  /** The same launch, started from {@code layer}. */
  public LaunchSpec withLayer(StartLayer layer) {
    return new LaunchSpec(instanceId, revision, instanceDir, tftpPort, layer);
  }

  /** RAM an instance gets, and is charged against the budget, when its manifest names none. */
  public static final long DEFAULT_RAM_MIB = 512;

  public Path consoleLog() {
    return instanceDir.resolve("console.log");
  }

  /** The VM's copy-on-write disk over the revision's disk; deleted when the instance ends. */
  public Path overlayDisk() {
    return overlayDisk(instanceDir);
  }

  public static Path overlayDisk(Path instanceDir) {
    return instanceDir.resolve("disk.qcow2");
  }

  /** The manifest's {@code ram-minimum}, or {@link #DEFAULT_RAM_MIB}. */
  public long ramMib() {
    return ramMib(revision);
  }

  public static long ramMib(Revision revision) {
    Long ram = revision.manifest().ramMinimumMib();
    return ram != null && ram > 0 ? ram : DEFAULT_RAM_MIB;
  }
}
