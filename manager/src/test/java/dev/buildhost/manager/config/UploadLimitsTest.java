package dev.buildhost.manager.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class UploadLimitsTest {

  private static Manifest machine(Long quota, Long maxFile) {
    return new Manifest(
        null,
        "m",
        "s",
        MachineType.DOCKER,
        "build",
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
        "img:1",
        null,
        null,
        quota,
        maxFile,
        null,
        null);
  }

  @Test
  void aManifestReplacesOnlyTheLimitsItSets() {
    UploadLimits daemon = new UploadLimits(1000, 100);
    assertEquals(daemon, daemon.overriddenBy(machine(null, null)));
    assertEquals(new UploadLimits(5000, 100), daemon.overriddenBy(machine(5000L, null)));
    assertEquals(new UploadLimits(1000, 7), daemon.overriddenBy(machine(null, 7L)));
  }

  @Test
  void limitsBelowOneByteAreRefusedNamingTheLimit() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> new UploadLimits(0, 1))
            .getMessage()
            .contains("upload quota"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> new UploadLimits(1, -5))
            .getMessage()
            .contains("largest file size"));
  }

  @Test
  void settingsCarryTheDefaultsUnlessGivenOthers() {
    ManagerConfig config = ManagerConfig.defaults(Path.of("/build"));
    assertEquals(UploadLimits.DEFAULTS, config.tftpUploadLimits());
    UploadLimits small = new UploadLimits(10, 5);
    assertEquals(small, config.withTftpUploadLimits(small).tftpUploadLimits());
  }
}
