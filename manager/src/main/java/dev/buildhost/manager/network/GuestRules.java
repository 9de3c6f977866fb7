package dev.buildhost.manager.network;

import java.util.regex.Pattern;

/**
 * What the firewall needs to know about one guest: its port, MAC and address (anything else from
 * that port is dropped), its instance's TFTP port (where 69 is sent) and whether it may reach the
 * internet.
 */
public record GuestRules(GuestPort port, int tftpPort, boolean outboundNat) {
  /**
   * Instance ids end up inside nft comments (at most 128 bytes) and file lines: keep them plain.
   */
  private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9_.-]{1,100}");

  public GuestRules {
    if (port == null) {
      throw new IllegalArgumentException("guest rules need the guest's port");
    }
    requireInstanceId(port.instanceId());
    if (tftpPort < 1 || tftpPort > 65535) {
      throw new IllegalArgumentException(
          "instance "
              + port.instanceId()
              + ": TFTP port "
              + tftpPort
              + " is out of range (1 to 65535)");
    }
  }

  static String requireInstanceId(String id) {
    if (id == null || !INSTANCE_ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "instance id '" + id + "' must be 1-100 of A-Z a-z 0-9 _ . -");
    }
    return id;
  }
}
