package dev.buildhost.manager.bootstrap;

/**
 * A current toolchain of the host.
 *
 * @param name its name (the folder {@code <root>/tftp/toolchain/<name>/})
 * @param id what identifies this version of it: the SHA-256 (hex) of the checksum file the monitor
 *     published, or the value of the daemon's {@code toolchains} setting
 * @param source where the id comes from: {@code published} or {@code setting}
 */
public record Toolchain(String name, String id, String source) {}
