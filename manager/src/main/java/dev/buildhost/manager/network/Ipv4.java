package dev.buildhost.manager.network;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * IPv4 addresses as the network layer needs them: parsed strictly (never resolved) and counted as
 * ints.
 */
final class Ipv4 {
  private static final Pattern DOTTED_QUAD =
      Pattern.compile(
          "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

  private Ipv4() {}

  /** A dotted quad, or an error naming {@code what}; no name lookup ever happens. */
  static Inet4Address parse(String text, String what) {
    if (text == null || !DOTTED_QUAD.matcher(text).matches()) {
      throw new IllegalArgumentException(
          what + " '" + text + "' is not an IPv4 address like 196.254.111.222");
    }
    try {
      return (Inet4Address) InetAddress.getByName(text);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(what + " '" + text + "' is not an IPv4 address", e);
    }
  }

  static int toInt(Inet4Address address) {
    byte[] b = address.getAddress();
    return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
  }

  static Inet4Address fromInt(int value) {
    byte[] b = {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    try {
      return (Inet4Address) InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("four bytes are always an address", e);
    }
  }

  static int mask(int prefixLength) {
    return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
  }

  static String text(Inet4Address address) {
    return address.getHostAddress();
  }
}
