package dev.buildhost.common.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  /** Every form the daemon's and the monitor's parsers accepted before they were merged. */
  @ParameterizedTest
  @CsvSource({
    "90,PT1M30S",
    "0,PT0S",
    "90s,PT1M30S",
    "30m,PT30M",
    "2h,PT2H",
    "1d,PT24H",
    "500ms,PT0.5S",
    "1h30m,PT1H30M",
    "1d2h3m4s5ms,PT26H3M4.005S",
    "2H,PT2H",
    "30 s,PT30S",
    "' 5m ',PT5M",
    "pt1h30m,PT1H30M",
    "PT5M,PT5M",
    "P1D,PT24H"
  })
  void everyFormerFormIsRead(String text, String iso) {
    assertEquals(Duration.parse(iso), Durations.parse(text));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "soon",
        "-5s",
        "5x",
        "s",
        "1.5h",
        "PT-5M",
        "P",
        "5m 3",
        "99999999999999999999",
        "1234567890123s5"
      })
  void anythingElseIsRefusedWithTheAcceptedForms(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Durations.parse(text));
    assertTrue(
        e.getMessage().startsWith("'" + text + "' is not a duration; write e.g. 500ms"),
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "0s", "PT0S"})
  void zeroIsAllowedUnlessAPositiveDurationIsAsked(String text) {
    assertEquals(Duration.ZERO, Durations.parse(text));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Durations.parsePositive(text));
    assertEquals("'" + text + "' is not a positive duration", e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"PT2H,2h", "PT24H,1d", "PT90M,90m", "PT1M30S,90s", "PT0.25S,250ms", "PT0S,0s"})
  void aFormattedDurationIsShortAndReadsBack(String iso, String text) {
    assertEquals(text, Durations.format(Duration.parse(iso)));
    assertEquals(Duration.parse(iso), Durations.parse(text));
  }

  @org.junit.jupiter.api.Test
  void controlCharactersInABadDurationAreNotEchoed() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("5\u001b[2Jm"));
    assertTrue(e.getMessage().startsWith("'5\\x1b[2Jm' is not"), e.getMessage());
  }
}
