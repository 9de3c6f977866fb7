package dev.buildhost.client.wire;

/**
 * The answer of {@code POST /v1/instances/{id}/publish}.
 *
 * @param machine the machine the revision belongs to
 * @param revision the revision, {@code P.R}
 * @param folder the revision's folder on the daemon's host
 * @param inService whether new instances of the machine now run it
 */
public record PublishView(String machine, String revision, String folder, boolean inService) {}
