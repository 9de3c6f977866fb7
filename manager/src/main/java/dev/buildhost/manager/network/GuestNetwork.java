package dev.buildhost.manager.network;

import java.net.Inet4Address;
import java.util.regex.Pattern;

/**
 * Settings of the guest network, validated: every error names the setting and what is wrong.
 *
 * @param mode {@code bridge} (this package) or {@code user} (the fallback)
 * @param bridgeName the Linux bridge guests are attached to, default {@code buildhost0}
 * @param hostAddress the host's address on the bridge, where guests find TFTP (bbot's default)
 * @param prefixLength the guest subnet's prefix length; the subnet is the host address's
 * @param rangeFirst first address handed to guests (inclusive)
 * @param rangeLast last address handed to guests (inclusive)
 * @param tableName name of buildhost's own nftables tables (one {@code bridge}, one {@code inet})
 * @param portPrefix start of every tap/veth name of ours, so reconciliation finds them and nothing
 *     else; must not be the start of another network's names
 * @param outboundNatDefault whether a guest whose machine says nothing may reach the internet
 */
public record GuestNetwork(
    NetworkMode mode,
    String bridgeName,
    Inet4Address hostAddress,
    int prefixLength,
    Inet4Address rangeFirst,
    Inet4Address rangeLast,
    String tableName,
    String portPrefix,
    boolean outboundNatDefault) {

  /** Linux interface names: at most 15 bytes, no slash, colon or white space. */
  private static final Pattern INTERFACE_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

  private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,31}");

  /** Short, so that prefix + kind letter + 8 hex digits + peer suffix stays within 15 bytes. */
  private static final Pattern PORT_PREFIX = Pattern.compile("[a-z][a-z0-9]{0,3}");

  public GuestNetwork {
    if (mode == null) {
      throw new IllegalArgumentException("network mode is missing: use 'bridge' or 'user'");
    }
    check(
        bridgeName != null
            && INTERFACE_NAME.matcher(bridgeName).matches()
            && !bridgeName.equals(".")
            && !bridgeName.equals(".."),
        "network bridge '" + bridgeName + "' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)");
    check(hostAddress != null, "network host address is missing");
    check(
        prefixLength >= 8 && prefixLength <= 29,
        "network prefix length " + prefixLength + " is out of range (8 to 29)");
    check(rangeFirst != null && rangeLast != null, "network guest range is missing");
    check(
        tableName != null && TABLE_NAME.matcher(tableName).matches(),
        "network table '"
            + tableName
            + "' is not an nftables name (a letter, then up to 31 of A-Z a-z 0-9 _)");
    check(
        portPrefix != null && PORT_PREFIX.matcher(portPrefix).matches(),
        "network port prefix '" + portPrefix + "' must be 1-4 of a-z 0-9, starting with a letter");
    check(
        !bridgeName.startsWith(portPrefix),
        "network bridge '"
            + bridgeName
            + "' starts with the port prefix '"
            + portPrefix
            + "': the firewall would take the bridge for a guest port");
    int mask = Ipv4.mask(prefixLength);
    int host = Ipv4.toInt(hostAddress);
    int network = host & mask;
    int broadcast = network | ~mask;
    String subnet = Ipv4.text(Ipv4.fromInt(network)) + "/" + prefixLength;
    check(
        host != network && host != broadcast,
        "network host address "
            + Ipv4.text(hostAddress)
            + " is the network or broadcast address of "
            + subnet);
    int first = Ipv4.toInt(rangeFirst);
    int last = Ipv4.toInt(rangeLast);
    check(
        (first & mask) == network && (last & mask) == network,
        "network guest range "
            + Ipv4.text(rangeFirst)
            + "-"
            + Ipv4.text(rangeLast)
            + " is not inside "
            + subnet);
    check(
        Integer.compareUnsigned(first, last) <= 0,
        "network guest range "
            + Ipv4.text(rangeFirst)
            + "-"
            + Ipv4.text(rangeLast)
            + " ends before it starts");
    check(
        first != network && last != broadcast,
        "network guest range "
            + Ipv4.text(rangeFirst)
            + "-"
            + Ipv4.text(rangeLast)
            + " includes the network or broadcast address of "
            + subnet);
    check(
        Integer.compareUnsigned(host, first) < 0 || Integer.compareUnsigned(host, last) > 0,
        "network guest range "
            + Ipv4.text(rangeFirst)
            + "-"
            + Ipv4.text(rangeLast)
            + " includes the host address "
            + Ipv4.text(hostAddress));
  }

  /**
   * buildhost0, 196.254.111.222/24, guests .10 to .200, tables {@code buildhost}, ports bh*, no
   * NAT.
   */
  public static GuestNetwork defaults() {
    return new GuestNetwork(
        NetworkMode.BRIDGE,
        "buildhost0",
        Ipv4.parse("196.254.111.222", "host address"),
        24,
        Ipv4.parse("196.254.111.10", "range start"),
        Ipv4.parse("196.254.111.200", "range end"),
        "buildhost",
        "bh",
        false);
  }

  /**
   * Builds the settings from their textual forms (the daemon's settings file); errors name the
   * setting.
   */
  public static GuestNetwork of(
      String mode,
      String bridgeName,
      String hostAddress,
      int prefixLength,
      String rangeFirst,
      String rangeLast,
      String tableName,
      String portPrefix,
      boolean outboundNatDefault) {
    return new GuestNetwork(
        NetworkMode.parse(mode),
        bridgeName,
        Ipv4.parse(hostAddress, "network host address"),
        prefixLength,
        Ipv4.parse(rangeFirst, "network guest range start"),
        Ipv4.parse(rangeLast, "network guest range end"),
        tableName,
        portPrefix,
        outboundNatDefault);
  }

  /**
   * The same settings with other names, e.g. for a test that must not touch the daemon's network.
   */
  public GuestNetwork withNames(String bridge, String table, String prefix) {
    return new GuestNetwork(
        mode,
        bridge,
        hostAddress,
        prefixLength,
        rangeFirst,
        rangeLast,
        table,
        prefix,
        outboundNatDefault);
  }

  /** The same settings in another mode. */
  public GuestNetwork withMode(NetworkMode other) {
    return new GuestNetwork(
        other,
        bridgeName,
        hostAddress,
        prefixLength,
        rangeFirst,
        rangeLast,
        tableName,
        portPrefix,
        outboundNatDefault);
  }

  /** e.g. {@code 196.254.111.0/24}. */
  public String subnet() {
    return Ipv4.text(Ipv4.fromInt(Ipv4.toInt(hostAddress) & Ipv4.mask(prefixLength)))
        + "/"
        + prefixLength;
  }

  /** e.g. {@code 255.255.255.0}. */
  public String netmask() {
    return Ipv4.text(Ipv4.fromInt(Ipv4.mask(prefixLength)));
  }

  /** e.g. {@code 196.254.111.222/24}, as ip(8) puts it on the bridge. */
  public String hostCidr() {
    return Ipv4.text(hostAddress) + "/" + prefixLength;
  }

  /** The nftables wildcard matching every guest port of ours, e.g. {@code bh*}. */
  public String portWildcard() {
    return portPrefix + "*";
  }

  public boolean inRange(Inet4Address address) {
    int value = Ipv4.toInt(address);
    return Integer.compareUnsigned(value, Ipv4.toInt(rangeFirst)) >= 0
        && Integer.compareUnsigned(value, Ipv4.toInt(rangeLast)) <= 0;
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
