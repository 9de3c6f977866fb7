package dev.buildhost.monitor.reboot;

/**
 * A decided reboot as persisted under the state folder.
 *
 * @param time ISO-8601 instant of the decision (wall clock: for people; the cap uses hostClock)
 * @param reason why, e.g. {@code OS build-id changed: 'a' -> 'b'}
 * @param host the host name
 * @param bootId the boot id of the boot that decided it
 * @param drain how the drain ended
 * @param hostClock the {@link HostClock} time of the decision in milliseconds, or null (older
 *     records, or no uptime could be read)
 */
public record RebootRecord(
    String time, String reason, String host, String bootId, String drain, Long hostClock) {}
