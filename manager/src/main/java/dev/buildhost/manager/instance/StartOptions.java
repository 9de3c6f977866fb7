package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.StartLayer;
import dev.buildhost.manager.machine.Revision;

/**
 * What a start carries besides its request, for bootstrapped states.
 *
 * @param revision the revision to run (the one the state was made from); null for the one in
 *     service
 * @param layer the bootstrapped state to start from; null for the bare revision
 * @param endHook what runs when the guest ends, before it is released; null for nothing
 */
public record StartOptions(Revision revision, StartLayer layer, EndHook endHook) {
  public static final StartOptions NONE = new StartOptions(null, null, null);
}
