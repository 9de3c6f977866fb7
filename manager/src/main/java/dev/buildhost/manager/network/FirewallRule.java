package dev.buildhost.manager.network;

/**
 * One rule found in our tables: where it is, its handle (to delete it) and its instance (empty for
 * a base rule).
 */
public record FirewallRule(String family, String chain, long handle, String instanceId) {}
