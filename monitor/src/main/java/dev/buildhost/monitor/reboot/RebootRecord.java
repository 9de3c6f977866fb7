package dev.buildhost.monitor.reboot;

/**
 * A decided reboot as persisted under the state folder.
 *
 * @param time   ISO-8601 instant of the decision
 * @param reason why, e.g. {@code OS build-id changed: 'a' -> 'b'}
 * @param host   the host name
 * @param bootId the boot id of the boot that decided it
 * @param drain  how the drain ended
 */
public record RebootRecord(String time, String reason, String host, String bootId, String drain) {}
