package dev.buildhost.tftp.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OptionNegotiatorTest {
  private final OptionNegotiator negotiator = new OptionNegotiator(1468, 16, 1000, 10);

  private static TftpRequest request(int opcode, String... nameValues) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < nameValues.length; i += 2) {
      options.put(nameValues[i], nameValues[i + 1]);
    }
    return new TftpRequest(opcode, "f", TransferMode.OCTET, options, 0);
  }

  @Test
  void noOptionsMeansRfc1350Defaults() throws Exception {
    NegotiatedOptions o = negotiator.negotiate(request(Opcodes.RRQ), 10, 0, "");
    assertFalse(o.hasOack());
    assertEquals(512, o.blockSize());
    assertEquals(1, o.windowSize());
    assertEquals(1000, o.timeoutMillis());
  }

  @Test
  void acceptsAndCapsValidValues() throws Exception {
    NegotiatedOptions o =
        negotiator.negotiate(
            request(
                Opcodes.RRQ,
                "blksize",
                "65464",
                "windowsize",
                "64",
                "timeout",
                "3",
                "tsize",
                "0",
                "foo",
                "bar"),
            12345,
            0,
            "");
    assertEquals(1468, o.blockSize());
    assertEquals(16, o.windowSize());
    assertEquals(3000, o.timeoutMillis());
    assertEquals(
        Map.of("blksize", "1468", "windowsize", "16", "timeout", "3", "tsize", "12345"),
        o.acknowledged());
  }

  @Test
  void aTimeoutAboveTheCapIsIgnoredNotLowered() throws Exception {
    // RFC 2349: the OACK must carry the client's timeout or none; the server's own then applies
    NegotiatedOptions o =
        negotiator.negotiate(request(Opcodes.RRQ, "timeout", "255", "blksize", "1024"), 1, 0, "");
    assertEquals(1000, o.timeoutMillis());
    assertEquals(Map.of("blksize", "1024"), o.acknowledged());
    assertFalse(negotiator.negotiate(request(Opcodes.WRQ, "timeout", "11"), -1, 10, "").hasOack());
    NegotiatedOptions atCap = negotiator.negotiate(request(Opcodes.RRQ, "timeout", "10"), 1, 0, "");
    assertEquals(10_000, atCap.timeoutMillis());
    assertEquals(Map.of("timeout", "10"), atCap.acknowledged());
  }

  @Test
  void theTimeoutCapIsChecked() {
    assertThrows(IllegalArgumentException.class, () -> new OptionNegotiator(1468, 16, 1000, 0));
    assertThrows(IllegalArgumentException.class, () -> new OptionNegotiator(1468, 16, 1000, 256));
  }

  @Test
  void smallerValuesAreKept() throws Exception {
    NegotiatedOptions o =
        negotiator.negotiate(request(Opcodes.RRQ, "blksize", "8", "windowsize", "1"), 1, 0, "");
    assertEquals(8, o.blockSize());
    assertEquals(1, o.windowSize());
  }

  @Test
  void tsizeIsLeftOutWhenTheSizeIsUnknown() throws Exception {
    assertFalse(negotiator.negotiate(request(Opcodes.RRQ, "tsize", "0"), -1, 0, "").hasOack());
    assertFalse(negotiator.negotiate(request(Opcodes.RRQ, "tsize", "0"), 0, 0, "").hasOack());
  }

  @ParameterizedTest
  @CsvSource({
    "blksize,7",
    "blksize,0",
    "blksize,-1",
    "blksize,65465",
    "blksize,99999999999999999999999",
    "blksize,abc",
    "blksize,''",
    "blksize,1 2",
    "timeout,0",
    "timeout,256",
    "timeout,-5",
    "windowsize,0",
    "windowsize,65536",
    "windowsize,4294967296",
    "tsize,-1",
    "tsize,x"
  })
  void outOfRangeOrNonNumericValuesAreRefused(String name, String value) {
    TftpProtocolException e =
        assertThrows(
            TftpProtocolException.class,
            () -> negotiator.negotiate(request(Opcodes.RRQ, name, value), 1, 0, ""));
    assertEquals(Opcodes.ERR_OPTION_REFUSED, e.errorCode());
    assertTrue(e.getMessage().contains(name), e.getMessage());
  }

  @Test
  void writeTsizeOverTheLimitIsDiskFull() throws Exception {
    TftpProtocolException e =
        assertThrows(
            TftpProtocolException.class,
            () -> negotiator.negotiate(request(Opcodes.WRQ, "tsize", "1001"), -1, 1000, "quota"));
    assertEquals(Opcodes.ERR_DISK_FULL, e.errorCode());
    assertTrue(e.getMessage().contains("quota"));
    NegotiatedOptions ok =
        negotiator.negotiate(request(Opcodes.WRQ, "tsize", "1000"), -1, 1000, "quota");
    assertEquals(1000, ok.transferSize());
    assertEquals("1000", ok.acknowledged().get("tsize"));
  }
}
