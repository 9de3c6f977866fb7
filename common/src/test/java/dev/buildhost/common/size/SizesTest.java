package dev.buildhost.common.size;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.common.size.Sizes.Unit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SizesTest {

  @ParameterizedTest
  @CsvSource({
    "0,0",
    "512,512",
    "512B,512",
    "1K,1024",
    "1k,1024",
    "2KiB,2048",
    "3KB,3072",
    "1M,1048576",
    "1G,1073741824",
    "1T,1099511627776",
    "' 4 M ',4194304"
  })
  void bytesReadWithBinaryUnits(String text, long bytes) {
    assertEquals(bytes, Sizes.parseBytes(text, Unit.BYTES));
  }

  @ParameterizedTest
  @CsvSource({"4096,4096", "4096M,4096", "16G,16384", "16GiB,16384", "2048K,2", "1T,1048576"})
  void aPlainNumberCountsInTheCallersUnit(String text, long mib) {
    assertEquals(mib, Sizes.parseMib(text, Unit.MIB));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "lots", "-1", "1.5G", "1X", "G", "1 G B", "1GG"})
  void anythingElseIsRefused(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(text, Unit.BYTES));
    assertTrue(
        e.getMessage().contains("is not a size; write e.g. 512K, 16G or 4096M"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"9999999999999999999", "9000000000T", "9223372036854775807K"})
  void aSizeLargerThanALongIsRefused(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(text, Unit.BYTES));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
  }
}
