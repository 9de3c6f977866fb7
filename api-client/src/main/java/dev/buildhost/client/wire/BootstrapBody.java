package dev.buildhost.client.wire;

import java.util.Map;

/**
 * The body of {@code POST /v1/machines/{name}/bootstrap}.
 *
 * @param toolchain the toolchain to bootstrap for; null for the host's only one
 * @param timeoutSeconds how long the bootstrap may run; null for the daemon's default
 * @param files files to put into the instance folder before it starts (the task), name to base64
 */
public record BootstrapBody(String toolchain, Long timeoutSeconds, Map<String, String> files) {}
