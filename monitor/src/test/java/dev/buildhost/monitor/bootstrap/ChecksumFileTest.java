package dev.buildhost.monitor.bootstrap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChecksumFileTest {
  static final String A = "a".repeat(64);
  static final String B = "B".repeat(64);

  static ChecksumFile parse(String text) throws ChecksumFormatException {
    return ChecksumFile.parse("toolchain.sha256", text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsSha256sumOutput() throws Exception {
    ChecksumFile f =
        parse(A + "  build2-toolchain-0.17.tar.xz\r\n\n" + B + " *sub/bbot_0.17+1.sh\n");
    assertEquals(
        List.of(
            new ChecksumFile.Entry("build2-toolchain-0.17.tar.xz", A),
            new ChecksumFile.Entry("sub/bbot_0.17+1.sh", "b".repeat(64))),
        f.entries());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "nonsense|line 1: expected '<64 hex digits>  <file name>'",
        "AAAA  short.tar|line 1: expected",
        "LINE2|line 2: expected",
        "HASH  /etc/passwd|is absolute",
        "HASH  ../up.tar|contains '..'",
        "HASH  a/../../up.tar|contains '..'",
        "HASH  a//b|has an unusable part ''",
        "HASH  .hidden|has an unusable part '.hidden'",
        "HASH  a\\\\b|contains a backslash",
        "HASH  tab\there|has an unusable part 'tab\\x09here'",
        "HASH  x.tar;HASH  x.tar|line 2: 'x.tar' is already listed on line 1",
        "HASH\tx.tar|line 1: expected",
        "''|lists no files",
      })
  void malformedLinesAreRefusedWithTheLineNumber(String text, String expected) {
    String t = text.replace("HASH", A).replace(";", "\n").replace("LINE2", A + "  ok.tar\n" + "zz");
    ChecksumFormatException e = assertThrows(ChecksumFormatException.class, () -> parse(t));
    assertTrue(e.getMessage().startsWith("toolchain.sha256"), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void binaryFilesAreRefused() {
    // Oversized ones are not fetched whole (max_checksum_file_size): ToolchainBootstrapTest.
    ChecksumFormatException bin =
        assertThrows(
            ChecksumFormatException.class,
            () -> ChecksumFile.parse("t", new byte[] {(byte) 0xc3, 0x28}));
    assertTrue(bin.getMessage().contains("not UTF-8"));
  }
}
