package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.config.Acceleration;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AccelerationProbeTest {
  @Test
  void explicitSettingsNeedNoProbe() {
    assertEquals("qemu", AccelerationProbe.choose(Acceleration.TCG).domainType());
    assertTrue(AccelerationProbe.choose(Acceleration.KVM).kvm());
    assertTrue(AccelerationProbe.choose(Acceleration.TCG).reason().contains("accel=tcg"));
  }

  @Test
  void theProbeGuestIsABootableSectorThatPrintsItsMarker() {
    byte[] sector = AccelerationProbe.bootSector();
    assertEquals(512, sector.length);
    assertEquals(0x55, sector[510] & 0xff);
    assertEquals(0xAA, sector[511] & 0xff);
    int message = (sector[17] & 0xff) | (sector[18] & 0xff) << 8;
    int offset = message - 0x7C00;
    String text = new String(sector, offset, 20, StandardCharsets.US_ASCII);
    assertTrue(text.startsWith("BUILDHOST-ACCEL-OK\r\n"), text);
    assertEquals(0xBE, sector[16] & 0xff, "mov si, imm16 precedes the patched address");
    assertFalse(offset < 34, "the message follows the code");
  }
}
