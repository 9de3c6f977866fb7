package dev.buildhost.manager.network;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An Ethernet unicast address in the {@code 02:11:22:33:44:55} form ip(8), nft and dnsmasq all
 * read.
 */
public record MacAddress(String text) {
  private static final Pattern FORM = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");

  public MacAddress {
    if (text == null || !FORM.matcher(text).matches()) {
      throw new IllegalArgumentException(
          "MAC address '" + text + "' is not six hex pairs like 52:54:00:12:34:56");
    }
    if ((Integer.parseInt(text.substring(0, 2), 16) & 1) != 0) {
      throw new IllegalArgumentException(
          "MAC address " + text + " is a multicast address; a guest needs a unicast one");
    }
    if (text.equals("00:00:00:00:00:00")) {
      throw new IllegalArgumentException("MAC address " + text + " is all zeros");
    }
  }

  /**
   * Parses a manifest's or a caller's MAC (either case, colons); {@code where} says whose it is.
   */
  public static MacAddress parse(String text, String where) {
    try {
      return new MacAddress(text == null ? null : text.trim().toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  /**
   * The same address for the same instance id every time, locally administered (second bit of the
   * first byte set) and unicast, so it cannot clash with a vendor's address.
   */
  public static MacAddress forInstance(String instanceId) {
    byte[] hash = sha256(instanceId);
    hash[0] = (byte) ((hash[0] & 0xfc) | 0x02);
    return new MacAddress(HexFormat.ofDelimiter(":").formatHex(hash, 0, 6));
  }

  static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return text;
  }
}
