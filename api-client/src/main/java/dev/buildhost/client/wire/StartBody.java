package dev.buildhost.client.wire;

import java.util.Map;

/**
 * The body of {@code POST /v1/instances}.
 *
 * @param machine the machine to start an instance of
 * @param timeoutSeconds how long it may run; null for the daemon's default
 * @param files files to put into the instance folder before it starts, name to base64 (the daemon
 *     checks the names)
 * @param bootstrapped {@code auto} (default: the bootstrapped state when there is one), {@code
 *     required} (409 when there is none) or {@code never}
 * @param toolchain the toolchain whose bootstrapped state to use; null for the host's only one
 * @param keep whether the daemon keeps the guest's disk once it stopped, until the instance is
 *     deleted, so that it can be published as a new revision; null means false
 */
public record StartBody(
    String machine,
    Long timeoutSeconds,
    Map<String, String> files,
    String bootstrapped,
    String toolchain,
    Boolean keep) {

  /** A start whose disk is thrown away when it stops. */
  public StartBody(
      String machine,
      Long timeoutSeconds,
      Map<String, String> files,
      String bootstrapped,
      String toolchain) {
    this(machine, timeoutSeconds, files, bootstrapped, toolchain, null);
  }

  /** A start that takes the bootstrapped state when there is one. */
  public StartBody(String machine, Long timeoutSeconds, Map<String, String> files) {
    this(machine, timeoutSeconds, files, null, null, null);
  }
}
