package dev.buildhost.client.wire;

import java.time.Instant;

/**
 * A file of an instance's TFTP folder, as {@code GET /v1/instances/{id}/files} lists it.
 *
 * @param name the file name
 * @param size its size in bytes
 * @param modified when it was last written
 */
public record FileView(String name, long size, Instant modified) {}
