package dev.buildhost.manager.network;

/**
 * What kind of bridge port a guest has: a tap (a VM's NIC) or a veth whose peer is in a container's
 * namespace.
 */
public enum PortKind {
  TAP('t'),
  VETH('v');

  private final char letter;

  PortKind(char letter) {
    this.letter = letter;
  }

  /** The letter after the port prefix in the interface's name. */
  char letter() {
    return letter;
  }
}
