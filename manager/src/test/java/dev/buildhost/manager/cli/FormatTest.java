package dev.buildhost.manager.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** How the CLI shows the states and the journal's health to people. */
class FormatTest {
  private static final Instant CREATED = Instant.parse("2026-03-01T12:00:00Z");

  private static InstanceView unknown(Instant guestGoneAt) {
    return new InstanceView(
        "m-20260301-120000-abcd",
        "m",
        null,
        MachineView.Type.DOCKER,
        InstanceView.State.UNKNOWN,
        null,
        null,
        10001,
        CREATED,
        null,
        guestGoneAt,
        "its journal record /s/instances/m-20260301-120000-abcd.json.bad cannot be read: ...");
  }

  @Test
  void anUnknownInstanceSaysWhetherItsGuestMayRun() {
    assertEquals("UNKNOWN (guest may run)", Format.state(unknown(null)));
    assertEquals("UNKNOWN (no guest)", Format.state(unknown(CREATED.plusSeconds(5))));
  }

  @Test
  void theJournalLineIsOkOrSaysWhatLagsAndWhy() {
    assertEquals("ok", HostCommand.journal(new HostInfo.Journal(0, 0, null, null)));
    String lagging =
        HostCommand.journal(
            new HostInfo.Journal(
                2, 5, "cannot write the journal record x.json: No space left on device", CREATED));
    assertTrue(
        lagging.startsWith("2 record(s) not written (retried), 5 failed write(s); last error at "),
        lagging);
    assertTrue(
        lagging.endsWith(": cannot write the journal record x.json: No space left on device"),
        lagging);
    assertEquals("not reported by this daemon", HostCommand.journal(null));
  }
}
