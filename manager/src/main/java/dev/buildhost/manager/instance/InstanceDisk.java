package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.KeptDisk;

/**
 * What an instance's disk started from and what becomes of it once the instance stopped.
 *
 * @param startedFrom the id of the bootstrapped state it started from; null for the bare revision
 * @param keep whether it was started with {@code keep}
 * @param kept what was kept of its disk once it stopped, until it is deleted; null while it runs,
 *     and when nothing is kept
 */
public record InstanceDisk(String startedFrom, boolean keep, KeptDisk kept) {}
