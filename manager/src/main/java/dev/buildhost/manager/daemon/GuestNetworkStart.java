package dev.buildhost.manager.daemon;

import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.GuestNetwork;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.manager.network.NetworkException;
import dev.buildhost.manager.network.NetworkMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which guest network the daemon runs and opens it: the bridge network when the settings
 * ask for it (an error when it cannot be made) or leave it to the daemon and the host can make one
 * (root, with ip, bridge, nft and dnsmasq); else the fallback {@code user} mode. The outcome and
 * its reason go to the log and to {@code host}.
 *
 * @param bridge the open bridge network; empty in mode {@code user}
 * @param shown the mode as {@code host} shows it
 */
public record GuestNetworkStart(Optional<BridgeNetwork> bridge, HostInfo.Network shown) {
  private static final Logger LOG = LoggerFactory.getLogger(GuestNetworkStart.class);

  /** The tools the bridge network runs; without one of them the host cannot make it. */
  static final List<String> TOOLS = List.of("ip", "bridge", "nft", "dnsmasq");

  /** Folders searched for the tools besides PATH: a service's PATH may lack the sbin folders. */
  private static final List<String> SBIN = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

  /**
   * Opens the network the choice names. {@code stateDir/network} holds dnsmasq's files.
   *
   * @throws IOException when mode {@code bridge} was chosen and the network cannot be made
   */
  public static GuestNetworkStart open(
      DaemonSettings.NetworkChoice choice, Path stateDir, HostCommands commands)
      throws IOException {
    GuestNetwork settings = choice.settings();
    if (settings.mode() == NetworkMode.USER) {
      removeLeftoverBridge(settings, stateDir, commands);
      return user("configured (network_mode = user)");
    }
    if (choice.automatic()) {
      List<String> missing = missingPrerequisites();
      if (!missing.isEmpty()) {
        if (isRoot()) {
          removeLeftoverBridge(settings, stateDir, commands);
        }
        return user(
            "no bridge network: "
                + String.join(", ", missing)
                + "; set network_mode = bridge to make this an error");
      }
    }
    BridgeNetwork bridge;
    try {
      bridge = BridgeNetwork.open(settings, stateDir.resolve("network"), commands);
    } catch (NetworkException e) {
      if (choice.automatic()) {
        return user(
            "the bridge network could not be made ("
                + e.getMessage()
                + "); set network_mode = bridge to make this an error");
      }
      throw new IOException(
          "cannot make the guest network (network_mode = bridge): "
              + e.getMessage()
              + "; fix that, or run with network_mode = user (guests then share the host's"
              + " loopback; see doc/network.md)",
          e);
    }
    String reason =
        choice.automatic()
            ? "network_mode = auto, and the host can make one"
            : "configured (network_mode = bridge)";
    LOG.info(
        "guest network mode bridge: bridge {} at {}, tables {}, ports {}*, outbound NAT {} ({})",
        settings.bridgeName(),
        settings.hostCidr(),
        settings.tableName(),
        settings.portPrefix(),
        settings.outboundNatDefault() ? "on" : "off",
        reason);
    return new GuestNetworkStart(
        Optional.of(bridge),
        new HostInfo.Network(
            "bridge", reason, settings.bridgeName(), settings.hostAddress().getHostAddress()));
  }

  /**
   * A daemon switched from mode bridge to mode user removes the bridge network it made before, once
   * no guest uses it; a failure is only logged (the daemon runs without it).
   */
  private static void removeLeftoverBridge(
      GuestNetwork settings, Path stateDir, HostCommands commands) {
    try {
      BridgeNetwork.removeLeftover(settings, stateDir.resolve("network"), commands)
          .ifPresent(LOG::info);
    } catch (NetworkException e) {
      LOG.warn(
          "cannot remove the bridge network {} left from mode bridge: {}",
          settings.bridgeName(),
          e.getMessage());
    }
  }

  private static GuestNetworkStart user(String reason) {
    LOG.warn(
        "guest network mode user: {}. Guests share the host's loopback: every guest can reach"
            + " every instance's TFTP port and every loopback service (doc/network.md)",
        reason);
    return new GuestNetworkStart(
        Optional.empty(), new HostInfo.Network("user", reason, null, null));
  }

  /** Why this host cannot make the bridge network: not root, tools missing; empty when it can. */
  static List<String> missingPrerequisites() {
    List<String> missing = new ArrayList<>();
    if (!isRoot()) {
      missing.add("the daemon does not run as root");
    }
    for (String tool : TOOLS) {
      if (!onPath(tool)) {
        missing.add(tool + " is not installed");
      }
    }
    return missing;
  }

  private static boolean isRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean onPath(String tool) {
    List<String> folders = new ArrayList<>(SBIN);
    String path = System.getenv("PATH");
    if (path != null) {
      folders.addAll(0, List.of(path.split(":")));
    }
    for (String folder : folders) {
      if (!folder.isEmpty() && Files.isExecutable(Path.of(folder, tool))) {
        return true;
      }
    }
    return false;
  }
}
