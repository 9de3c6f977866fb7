package dev.buildhost.monitor.config;

/**
 * One setting as written in one source, before it is checked.
 *
 * @param setting which setting
 * @param suffix the {@code .<name>} after toolchain_url / toolchain_trust, or null
 * @param value the text as written (quotes removed)
 * @param origin where it was written, for messages: {@code "/proc/cmdline: buildos.interval"}
 */
public record RawValue(Setting setting, String suffix, String value, String origin) {}
