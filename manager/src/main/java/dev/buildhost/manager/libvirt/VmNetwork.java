package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.GuestPort;
import dev.buildhost.manager.network.MacAddress;
import dev.buildhost.manager.network.NetworkException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a VM's NIC goes: QEMU user networking (no bridge: network mode user), or its own tap on the
 * guest bridge, made with its address, DHCP entry and firewall rules before the domain is created
 * and removed with them when the instance ends or its launch fails.
 */
final class VmNetwork {
  private static final Logger LOG = LoggerFactory.getLogger(VmNetwork.class);

  /**
   * The NIC of one domain.
   *
   * @param tap the tap, or null on user networking
   * @param mac the NIC's MAC, or null to let libvirt choose one (user networking without a manifest
   *     MAC)
   */
  record Nic(DomainXml.Tap tap, String mac) {}

  private final Optional<BridgeNetwork> bridge;

  VmNetwork(Optional<BridgeNetwork> bridge) {
    this.bridge = bridge;
  }

  boolean onBridge() {
    return bridge.isPresent();
  }

  /**
   * The guest's NIC: on the bridge, its tap is made now (with the manifest's MAC when it gives one)
   * and the caller must {@link #release} it if the launch fails.
   */
  Nic attach(String instanceId, String manifestMac, int tftpPort) throws BackendException {
    if (bridge.isEmpty()) {
      return new Nic(null, manifestMac);
    }
    BridgeNetwork network = bridge.get();
    Optional<MacAddress> mac;
    try {
      mac =
          manifestMac == null
              ? Optional.empty()
              : Optional.of(MacAddress.parse(manifestMac, "manifest mac"));
    } catch (IllegalArgumentException e) {
      throw new BackendException(e.getMessage(), e);
    }
    try {
      GuestPort port =
          network.attachVm(instanceId, mac, tftpPort, network.settings().outboundNatDefault());
      LOG.info(
          "instance {}: tap {} on {}, MAC {}, address {}",
          instanceId,
          port.interfaceName(),
          network.settings().bridgeName(),
          port.mac(),
          port.addressText());
      return new Nic(
          new DomainXml.Tap(
              port.interfaceName(), network.settings().hostAddress().getHostAddress()),
          port.mac().text());
    } catch (NetworkException e) {
      throw new BackendException(
          "instance " + instanceId + ": cannot put the VM on the guest network: " + e.getMessage(),
          e);
    }
  }

  /** Removes the guest's tap, rules, DHCP entry and address; what is gone already is fine. */
  void release(String instanceId) {
    if (bridge.isEmpty()) {
      return;
    }
    try {
      bridge.get().detach(instanceId);
    } catch (NetworkException e) {
      LOG.warn(
          "instance {}: cannot remove its guest network port and rules: {}",
          instanceId,
          e.getMessage());
    }
  }
}
