package dev.buildhost.manager.network;

import java.net.Inet4Address;

/** A guest dnsmasq knows: the instance, its MAC, and the address that MAC always gets. */
public record DhcpHost(String instanceId, MacAddress mac, Inet4Address address) {
  public DhcpHost {
    GuestRules.requireInstanceId(instanceId);
  }
}
