package dev.buildhost.manager.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's IPv4 forwarding ({@code net.ipv4.ip_forward}), turned on when the first guest with
 * outbound NAT attaches: without it the kernel routes nothing from the bridge to the host's other
 * interfaces, whatever the NAT rules say. It is left on afterwards, because other software of the
 * host may have come to rely on it; buildhost's own forward chain keeps dropping every guest packet
 * its rules do not allow.
 */
public final class Ipv4Forwarding {
  private static final Logger LOG = LoggerFactory.getLogger(Ipv4Forwarding.class);

  /** The kernel's switch. */
  public static final Path SYSCTL = Path.of("/proc/sys/net/ipv4/ip_forward");

  private final Path file;

  public Ipv4Forwarding(Path file) {
    this.file = file;
  }

  /** Turns forwarding on; returns whether it was off before. */
  public synchronized boolean ensureOn() throws NetworkException {
    try {
      if (Files.readString(file, StandardCharsets.US_ASCII).strip().equals("1")) {
        return false;
      }
      Files.writeString(file, "1\n", StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      throw new NetworkException(
          "a guest asks for outbound NAT, which needs IPv4 forwarding, but net.ipv4.ip_forward"
              + " cannot be turned on ("
              + file
              + ": "
              + e.getMessage()
              + "): set 'net.ipv4.ip_forward = 1' in /etc/sysctl.d/ and run 'sysctl --system'",
          e);
    }
    LOG.warn(
        "turned on IPv4 forwarding (net.ipv4.ip_forward = 1) for guests with outbound NAT;"
            + " it stays on for the whole host");
    return true;
  }
}
