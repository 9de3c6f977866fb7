package dev.buildhost.manager.network;

import java.net.Inet4Address;
import java.util.HexFormat;

/**
 * A guest's place on the bridge: its port (tap or veth), its MAC and its address. The port's name
 * follows from the instance id, so a port can be found again after a crash.
 */
public record GuestPort(
    String instanceId, PortKind kind, String interfaceName, MacAddress mac, Inet4Address address) {

  /**
   * {@code <prefix><t|v><first 8 hex digits of SHA-256(id)>}: at most 13 bytes, within Linux's 15.
   */
  public static String interfaceName(String portPrefix, PortKind kind, String instanceId) {
    return portPrefix
        + kind.letter()
        + HexFormat.of().formatHex(MacAddress.sha256(instanceId), 0, 4);
  }

  /** The veth's other end before it moves into the guest's namespace (where it becomes eth0). */
  public String peerName() {
    return interfaceName + "p";
  }

  public String addressText() {
    return address.getHostAddress();
  }
}
