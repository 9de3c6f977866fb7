package dev.buildhost.manager.network;

import java.net.Inet4Address;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Hands out guest addresses from the range, one per instance, lowest free first; thread-safe. */
public final class AddressPool {
  private final GuestNetwork network;
  private final Map<String, Inet4Address> byInstance = new LinkedHashMap<>();

  public AddressPool(GuestNetwork network) {
    this.network = network;
  }

  /**
   * The instance's address: the one it holds, else the lowest free one; throws when the range is
   * full.
   */
  public synchronized Inet4Address assign(String instanceId) throws NetworkException {
    Inet4Address held = byInstance.get(instanceId);
    if (held != null) {
      return held;
    }
    Set<Integer> taken = new HashSet<>();
    byInstance.values().forEach(address -> taken.add(Ipv4.toInt(address)));
    int last = Ipv4.toInt(network.rangeLast());
    for (int candidate = Ipv4.toInt(network.rangeFirst()); ; candidate++) {
      if (!taken.contains(candidate)) {
        Inet4Address address = Ipv4.fromInt(candidate);
        byInstance.put(instanceId, address);
        return address;
      }
      if (candidate == last) {
        throw new NetworkException(
            "no guest address is free in "
                + Ipv4.text(network.rangeFirst())
                + "-"
                + Ipv4.text(network.rangeLast())
                + " for instance "
                + instanceId
                + " ("
                + byInstance.size()
                + " held)");
      }
    }
  }

  /**
   * Takes back what a previous daemon handed out; refuses an address outside the range or held by
   * another.
   */
  public synchronized void adopt(String instanceId, Inet4Address address) throws NetworkException {
    if (!network.inRange(address)) {
      throw new NetworkException(
          "instance "
              + instanceId
              + " holds "
              + Ipv4.text(address)
              + ", outside the guest range "
              + Ipv4.text(network.rangeFirst())
              + "-"
              + Ipv4.text(network.rangeLast()));
    }
    for (Map.Entry<String, Inet4Address> entry : byInstance.entrySet()) {
      if (entry.getValue().equals(address) && !entry.getKey().equals(instanceId)) {
        throw new NetworkException(
            "instance "
                + instanceId
                + " and instance "
                + entry.getKey()
                + " both hold "
                + Ipv4.text(address));
      }
    }
    byInstance.put(instanceId, address);
  }

  public synchronized Optional<Inet4Address> addressOf(String instanceId) {
    return Optional.ofNullable(byInstance.get(instanceId));
  }

  public synchronized void release(String instanceId) {
    byInstance.remove(instanceId);
  }

  public synchronized Map<String, Inet4Address> held() {
    return Map.copyOf(byInstance);
  }
}
