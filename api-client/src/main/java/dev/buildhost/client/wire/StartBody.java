package dev.buildhost.client.wire;

import java.util.Map;

/**
 * The body of {@code POST /v1/instances}.
 *
 * @param machine the machine to start an instance of
 * @param timeoutSeconds how long it may run; null for the daemon's default
 * @param files files to put into the instance folder before it starts, name to base64 (the daemon
 *     checks the names)
 */
public record StartBody(String machine, Long timeoutSeconds, Map<String, String> files) {}
