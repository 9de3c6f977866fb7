package dev.buildhost.manager.network;

/**
 * One per-guest rule found in our tables: where it is, its handle (to delete it) and its instance.
 */
public record FirewallRule(String family, String chain, long handle, String instanceId) {}
