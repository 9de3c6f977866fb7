package dev.buildhost.monitor.state;

/**
 * What the monitor last saw and installed, kept in {@code <state_dir>/monitor/state.json}.
 *
 * @param bootId the kernel boot id when this was written; a different one means the host rebooted
 * @param buildId the OS build-id this boot runs (the baseline of the OS watch), or null if not
 *     known yet
 * @param toolchainName the published toolchain's name, or null before the first bootstrap
 * @param toolchainId SHA-256 of the checksum file it was bootstrapped from (the baseline of the
 *     toolchain watch)
 * @param toolchainUrl where that checksum file came from
 * @param updatedAt ISO-8601 time of the last change to this record
 */
public record MonitorState(
    String bootId,
    String buildId,
    String toolchainName,
    String toolchainId,
    String toolchainUrl,
    String updatedAt) {

  public static MonitorState empty(String bootId) {
    return new MonitorState(bootId, null, null, null, null, null);
  }

  public MonitorState withBuildId(String id, String at) {
    return new MonitorState(bootId, id, toolchainName, toolchainId, toolchainUrl, at);
  }

  public MonitorState withToolchain(String name, String id, String url, String at) {
    return new MonitorState(bootId, buildId, name, id, url, at);
  }
}
