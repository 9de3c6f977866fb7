package dev.buildhost.client.wire;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A host of the fleet as its daemon keeps it in etcd ({@code /buildhost/<fleet>/hosts/<host>}) and
 * as {@code GET /v1/fleet/hosts} shows it: written when the host changes (an instance event, a
 * drain), deleted when its daemon stops or its lease runs out.
 *
 * @param host the host's name in the fleet
 * @param updatedAt when its daemon wrote this record
 * @param buildId the OS build id ({@code BUILD_ID} of /etc/os-release), null when it has none
 * @param instancesByState how many of its instances are in each state
 * @param info what {@code GET /v1/host} of that host says: capacity and use, versions, draining,
 *     toolchains, bootstrapped states
 * @param machines its machines with their revisions and bootstrapped states
 * @param instances its instances
 */
public record FleetHostView(
    String host,
    Instant updatedAt,
    String buildId,
    Map<String, Integer> instancesByState,
    HostInfo info,
    List<MachineView> machines,
    List<InstanceView> instances) {

  public FleetHostView {
    instancesByState = instancesByState == null ? Map.of() : Map.copyOf(instancesByState);
    machines = machines == null ? List.of() : List.copyOf(machines);
    instances = instances == null ? List.of() : List.copyOf(instances);
  }
}
