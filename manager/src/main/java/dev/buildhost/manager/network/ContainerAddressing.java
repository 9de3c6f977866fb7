package dev.buildhost.manager.network;

/**
 * How a container's eth0 gets its address: set from outside (a container image needs no DHCP
 * client) or left to the guest's DHCP client, which dnsmasq answers with the same address.
 */
public enum ContainerAddressing {
  STATIC,
  DHCP
}
