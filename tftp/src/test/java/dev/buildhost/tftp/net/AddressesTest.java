package dev.buildhost.tftp.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {
  @ParameterizedTest
  @CsvSource({
    "127.0.0.1, 127.0.0.1",
    "::1, [::1]",
    "::, [::]",
    "0:0:0:0:0:0:0:1, [::1]",
    "2001:db8:0:0:1:0:0:1, [2001:db8::1:0:0:1]",
    "2001:db8:0:1:1:1:1:1, [2001:db8:0:1:1:1:1:1]",
    "fe80:0:0:0:0:0:0:0, [fe80::]",
    "2001:0db8:0000:0000:0000:ff00:0042:8329, [2001:db8::ff00:42:8329]",
  })
  void writesAddressesInTheirShortForm(String written, String expected) throws Exception {
    assertEquals(expected, Addresses.host(InetAddress.getByName(written)));
  }

  @ParameterizedTest
  @CsvSource({"127.0.0.1, 69, 127.0.0.1:69", "::1, 6969, [::1]:6969"})
  void addsThePort(String host, int port, String expected) throws Exception {
    assertEquals(
        expected, Addresses.hostPort(new InetSocketAddress(InetAddress.getByName(host), port)));
  }
}
