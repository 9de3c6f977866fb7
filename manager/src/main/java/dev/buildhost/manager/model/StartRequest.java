package dev.buildhost.manager.model;

import java.time.Duration;
import java.util.Map;

/**
 * A request to start an instance of a machine.
 *
 * @param machine the machine name (its {@code <name>-<P>} symlink picks the revision)
 * @param timeout how long the instance may run before it is terminated; null for the default
 * @param files files put into the instance folder before the guest starts (name to content)
 */
public record StartRequest(String machine, Duration timeout, Map<String, byte[]> files) {
  public StartRequest {
    files = files == null ? Map.of() : Map.copyOf(files);
  }

  public static StartRequest of(String machine) {
    return new StartRequest(machine, null, Map.of());
  }
}
