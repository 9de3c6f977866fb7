package dev.buildhost.tftp.net;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** Addresses as people write them: {@code 127.0.0.1:69}, {@code [::1]:69} (RFC 5952 short form). */
public final class Addresses {
  private Addresses() {}

  /** {@code HOST:PORT}, an IPv6 host in brackets. */
  public static String hostPort(InetSocketAddress address) {
    return host(address.getAddress()) + ":" + address.getPort();
  }

  /**
   * The address as text, an IPv6 one shortened and in brackets (Java writes {@code
   * 0:0:0:0:0:0:0:1}).
   */
  public static String host(InetAddress address) {
    if (!(address instanceof Inet6Address ipv6)) {
      return address.getHostAddress();
    }
    byte[] bytes = ipv6.getAddress();
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
    }
    // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::"
    int runStart = -1;
    int runLength = 1;
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > runLength) {
        runStart = i;
        runLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder text = new StringBuilder("[");
    for (int i = 0; i < 8; i++) {
      if (i == runStart) {
        text.append("::");
        i += runLength - 1;
        continue;
      }
      if (text.length() > 1 && text.charAt(text.length() - 1) != ':') {
        text.append(':');
      }
      text.append(Integer.toHexString(groups[i]));
    }
    if (ipv6.getScopeId() != 0) {
      text.append('%').append(ipv6.getScopeId());
    }
    return text.append(']').toString();
  }
}
