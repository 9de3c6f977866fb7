package dev.buildhost.client.wire;

/**
 * The body of {@code POST /v1/instances/{id}/publish}.
 *
 * @param revision the new revision folder's name, {@code NAME-P.R} (a machine that does not exist
 *     yet is made)
 * @param service whether to put it into service (swap the {@code NAME-P} symlink to it); null or
 *     false leaves the symlink alone
 */
public record PublishBody(String revision, Boolean service) {}
