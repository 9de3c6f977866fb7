package dev.buildhost.manager.model;

import java.time.Duration;
import java.util.Map;

/**
 * A request to start an instance of a machine.
 *
 * @param machine the machine name (its {@code <name>-<P>} symlink picks the revision)
 * @param timeout how long the instance may run before it is terminated; null for the default
 * @param files files put into the instance folder before the guest starts (name to content)
 * @param bootstrapped whether to start from the bootstrapped state (null means auto)
 * @param toolchain the toolchain whose bootstrapped state to use; null for the host's only one
 * @param keep whether to keep the guest's disk once it stopped, until the instance is deleted, so
 *     that it can be published as a new revision
 */
public record StartRequest(
    String machine,
    Duration timeout,
    Map<String, byte[]> files,
    BootstrappedMode bootstrapped,
    String toolchain,
    boolean keep) {
  public StartRequest {
    files = files == null ? Map.of() : Map.copyOf(files);
    bootstrapped = bootstrapped == null ? BootstrappedMode.AUTO : bootstrapped;
  }

  /** A start whose disk is thrown away when it stops. */
  public StartRequest(
      String machine,
      Duration timeout,
      Map<String, byte[]> files,
      BootstrappedMode bootstrapped,
      String toolchain) {
    this(machine, timeout, files, bootstrapped, toolchain, false);
  }

  /** A start that takes the bootstrapped state of the host's only toolchain when there is one. */
  public StartRequest(String machine, Duration timeout, Map<String, byte[]> files) {
    this(machine, timeout, files, BootstrappedMode.AUTO, null);
  }

  public static StartRequest of(String machine) {
    return new StartRequest(machine, null, Map.of());
  }
}
