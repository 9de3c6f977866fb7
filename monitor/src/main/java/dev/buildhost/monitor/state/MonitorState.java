package dev.buildhost.monitor.state;

import java.util.Map;
import java.util.TreeMap;

/**
 * What the monitor last saw and installed, kept in {@code <state_dir>/monitor/state.json}.
 *
 * @param bootId the kernel boot id when this was written; a different one means the host rebooted
 * @param buildId the OS build-id this boot runs (the baseline of the OS watch), or null if not
 *     known yet
 * @param toolchains the toolchains published so far, by name
 * @param updatedAt ISO-8601 time of the last change to this record
 */
public record MonitorState(
    String bootId, String buildId, Map<String, PublishedToolchain> toolchains, String updatedAt) {

  /**
   * One published toolchain.
   *
   * @param id SHA-256 of the checksum file it was bootstrapped from (the baseline of its watch)
   * @param url where that checksum file came from
   * @param publishedAt ISO-8601 time it was published
   */
  public record PublishedToolchain(String id, String url, String publishedAt) {}

  public MonitorState {
    toolchains = toolchains == null ? Map.of() : Map.copyOf(new TreeMap<>(toolchains));
  }

  public static MonitorState empty(String bootId) {
    return new MonitorState(bootId, null, Map.of(), null);
  }

  public MonitorState withBuildId(String id, String at) {
    return new MonitorState(bootId, id, toolchains, at);
  }

  /** This record with {@code all} as the published toolchains. */
  public MonitorState withToolchains(Map<String, PublishedToolchain> all, String at) {
    return new MonitorState(bootId, buildId, all, at);
  }

  public MonitorState withToolchain(String name, String id, String url, String at) {
    Map<String, PublishedToolchain> all = new TreeMap<>(toolchains);
    all.put(name, new PublishedToolchain(id, url, at));
    return new MonitorState(bootId, buildId, all, at);
  }
}
