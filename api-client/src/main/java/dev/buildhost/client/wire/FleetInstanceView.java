package dev.buildhost.client.wire;

/**
 * An instance of a fleet's host, as {@code GET /v1/fleet/instances} shows it (from the hosts'
 * records in etcd).
 *
 * @param host the host it runs on
 * @param instance the instance as that host's {@code GET /v1/instances} showed it
 */
public record FleetInstanceView(String host, InstanceView instance) {}
