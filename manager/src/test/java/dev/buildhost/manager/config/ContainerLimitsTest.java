package dev.buildhost.manager.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.model.MachineType;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContainerLimitsTest {

  private static Manifest container(List<String> capabilities, Long pidsLimit) {
    return new Manifest(
        null,
        "m",
        "s",
        MachineType.DOCKER,
        null,
        null,
        null,
        null,
        null,
        List.of(),
        null,
        null,
        null,
        null,
        null,
        "repo/m:1",
        null,
        null,
        null,
        null,
        capabilities,
        pidsLimit);
  }

  @Test
  void aManifestOverridesEachLimitItNamesAndKeepsTheOthers() {
    ContainerLimits daemon = new ContainerLimits(List.of("CHOWN", "KILL"), 512);
    assertEquals(daemon, daemon.overriddenBy(container(null, null)));
    assertEquals(
        new ContainerLimits(List.of("MKNOD"), 512),
        daemon.overriddenBy(container(List.of("MKNOD"), null)));
    assertEquals(
        new ContainerLimits(List.of(), 64), daemon.overriddenBy(container(List.of(), 64L)));
  }

  @Test
  void capabilitiesBeyondDockersDefaultSetAndOddPidsLimitsAreRefused() {
    IllegalArgumentException admin =
        assertThrows(
            IllegalArgumentException.class, () -> new ContainerLimits(List.of("SYS_ADMIN"), 10));
    assertTrue(admin.getMessage().contains("'SYS_ADMIN' may not be kept"), admin.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ContainerLimits(List.of(), 0));
    assertThrows(IllegalArgumentException.class, () -> new ContainerLimits(List.of(), 4_194_305));
  }
}
