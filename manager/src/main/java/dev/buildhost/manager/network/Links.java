package dev.buildhost.manager.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The guest network's links through ip(8) and bridge(8): the bridge with the host address, and one
 * port per guest (a tap, or a veth whose other end is in the guest's namespace), each isolated on
 * the bridge and labelled with its instance id (the link's alias) so that a restarted daemon can
 * tell whose it is.
 */
public final class Links {
  /** The alias every port of ours carries; the instance id follows. */
  public static final String ALIAS_PREFIX = "buildhost instance ";

  private final GuestNetwork network;
  private final HostCommands commands;
  private final Pattern portName;
  private final ObjectMapper json = new ObjectMapper();

  public Links(GuestNetwork network, HostCommands commands) {
    this.network = network;
    this.commands = commands;
    this.portName = Pattern.compile(Pattern.quote(network.portPrefix()) + "[tv][0-9a-f]{8}p?");
  }

  /**
   * Makes the bridge, or adopts it when it is there; gives it the host address and brings it up.
   */
  public void ensureBridge() throws NetworkException {
    String bridge = network.bridgeName();
    Optional<JsonNode> existing = link(bridge);
    if (existing.isPresent()) {
      String kind = existing.get().path("linkinfo").path("info_kind").asText("");
      if (!kind.equals("bridge")) {
        throw new NetworkException(
            "network bridge '"
                + bridge
                + "' exists but is a "
                + (kind.isEmpty() ? "plain device" : kind)
                + ", not a bridge: choose another name");
      }
    } else {
      commands.run(
          "create the bridge " + bridge,
          List.of("ip", "link", "add", "name", bridge, "type", "bridge"));
    }
    commands.run(
        "put " + network.hostCidr() + " on bridge " + bridge,
        List.of("ip", "address", "replace", network.hostCidr(), "dev", bridge));
    commands.run("bring up bridge " + bridge, List.of("ip", "link", "set", "dev", bridge, "up"));
  }

  public boolean bridgeExists() throws NetworkException {
    return link(network.bridgeName()).isPresent();
  }

  public void deleteBridge() throws NetworkException {
    delete(network.bridgeName());
  }

  /** A VM's tap, on the bridge and isolated; QEMU opens it by name. */
  public void createTap(GuestPort port) throws NetworkException {
    String name = port.interfaceName();
    String what = "create tap " + name + " for instance " + port.instanceId();
    commands.run(what, List.of("ip", "tuntap", "add", "dev", name, "mode", "tap"));
    try {
      attach(port);
    } catch (NetworkException e) {
      deleteQuietly(name);
      throw e;
    }
  }

  /**
   * A container's veth: one end on the bridge, isolated; the other, with the guest's MAC, moved
   * into {@code namespace} as {@code eth0} and brought up, with loopback.
   */
  public void createVeth(GuestPort port, GuestNamespace namespace) throws NetworkException {
    String name = port.interfaceName();
    String peer = port.peerName();
    commands.run(
        "create veth " + name + " for instance " + port.instanceId(),
        List.of("ip", "link", "add", "name", name, "type", "veth", "peer", "name", peer));
    try {
      attach(port);
      commands.run(
          "give veth " + peer + " the MAC " + port.mac(),
          List.of("ip", "link", "set", "dev", peer, "address", port.mac().text()));
      commands.run(
          "move veth " + peer + " into network namespace " + namespace.target(),
          List.of("ip", "link", "set", "dev", peer, "netns", namespace.target()));
      String inside = "in network namespace " + namespace.target();
      commands.run(
          "rename " + peer + " to eth0 " + inside,
          namespace.ip("link", "set", "dev", peer, "name", "eth0"));
      commands.run("bring up eth0 " + inside, namespace.ip("link", "set", "dev", "eth0", "up"));
      commands.run("bring up lo " + inside, namespace.ip("link", "set", "dev", "lo", "up"));
    } catch (NetworkException e) {
      deleteQuietly(name);
      throw e;
    }
  }

  /**
   * Gives a container its address without DHCP: the guest's own address and a route through the
   * host.
   */
  public void assignStatic(GuestPort port, GuestNamespace namespace) throws NetworkException {
    String inside = " in network namespace " + namespace.target();
    commands.run(
        "give eth0 the address " + port.addressText() + inside,
        namespace.ip(
            "address",
            "replace",
            port.addressText() + "/" + network.prefixLength(),
            "dev",
            "eth0"));
    commands.run(
        "route through " + network.hostAddress().getHostAddress() + inside,
        namespace.ip(
            "route",
            "replace",
            "default",
            "via",
            network.hostAddress().getHostAddress(),
            "dev",
            "eth0"));
  }

  /** Deletes a link (a veth's peer goes with it); an absent link is fine. */
  public void delete(String name) throws NetworkException {
    if (link(name).isPresent()) {
      commands.run("delete link " + name, List.of("ip", "link", "delete", "dev", name));
    }
  }

  /** Every link in this namespace named like one of our ports, whatever it is attached to. */
  public List<PortLink> ports() throws NetworkException {
    List<PortLink> found = new ArrayList<>();
    for (JsonNode link :
        readJson(commands.run("list links", List.of("ip", "-j", "-d", "link", "show")))) {
      String name = link.path("ifname").asText("");
      if (!portName.matcher(name).matches()) {
        continue;
      }
      String alias = link.path("ifalias").asText("");
      Optional<String> instance =
          alias.startsWith(ALIAS_PREFIX)
              ? Optional.of(alias.substring(ALIAS_PREFIX.length()))
              : Optional.empty();
      found.add(new PortLink(name, instance, link.path("master").asText("")));
    }
    return found;
  }

  /** Whether the bridge port has isolation on (guests' frames never go to another port). */
  public boolean isolated(String name) throws NetworkException {
    for (JsonNode link :
        readJson(
            commands.run(
                "read bridge port " + name,
                List.of("bridge", "-j", "-d", "link", "show", "dev", name)))) {
      if (link.path("isolated").asBoolean(false)) {
        return true;
      }
    }
    return false;
  }

  private void attach(GuestPort port) throws NetworkException {
    String name = port.interfaceName();
    String bridge = network.bridgeName();
    commands.run(
        "label " + name + " with its instance",
        List.of("ip", "link", "set", "dev", name, "alias", ALIAS_PREFIX + port.instanceId()));
    commands.run(
        "attach " + name + " to bridge " + bridge,
        List.of("ip", "link", "set", "dev", name, "master", bridge));
    commands.run(
        "isolate bridge port " + name,
        List.of("bridge", "link", "set", "dev", name, "isolated", "on"));
    commands.run("bring up " + name, List.of("ip", "link", "set", "dev", name, "up"));
  }

  private void deleteQuietly(String name) {
    try {
      delete(name);
    } catch (NetworkException ignored) {
      // reconciliation removes a port of ours that belongs to no instance
    }
  }

  private Optional<JsonNode> link(String name) throws NetworkException {
    HostCommands.Result result =
        commands.execute(
            "look for link " + name, List.of("ip", "-j", "-d", "link", "show", "dev", name), null);
    if (result.exitCode() != 0) {
      return Optional.empty();
    }
    JsonNode links = readJson(result.output());
    return links.size() == 0 ? Optional.empty() : Optional.of(links.get(0));
  }

  private JsonNode readJson(String text) throws NetworkException {
    try {
      return json.readTree(text.isBlank() ? "[]" : text);
    } catch (IOException e) {
      throw new NetworkException("cannot read ip(8)'s JSON: " + e.getMessage(), e);
    }
  }

  /** A link named like one of our ports: its name, the instance its alias names, its bridge. */
  public record PortLink(String name, Optional<String> instanceId, String master) {}
}
