package dev.buildhost.monitor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.fleet.FleetSettings;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The monitor reads the fleet_ settings as the daemon does, from any of its three sources. */
class FleetConfigTest {

  private static ConfigSource file(String text) throws ConfigException {
    return ConfigFile.parse("monitor.conf", text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void noFleetSettingMeansNoFleet() throws Exception {
    assertNull(MonitorConfig.resolve(List.of()).fleet());
  }

  @Test
  void theFleetComesFromTheFileAndTheKernelCommandLine() throws Exception {
    MonitorConfig cfg =
        MonitorConfig.resolve(
            List.of(
                file(
                    """
                    fleet_endpoints = http://10.0.0.1:2379, http://10.0.0.2:2379
                    fleet_reboot_slots = 2
                    fleet_host = build7
                    """),
                KernelCmdline.parse(
                    "/proc/cmdline", "buildos.fleet_name=farm buildos.fleet_slot_timeout=30m")));
    FleetSettings fleet = cfg.fleet();
    assertEquals(
        List.of(URI.create("http://10.0.0.1:2379"), URI.create("http://10.0.0.2:2379")),
        fleet.endpoints());
    assertEquals("/buildhost/farm/", fleet.keyPrefix());
    assertEquals(2, fleet.rebootSlots());
    assertEquals(Duration.ofMinutes(30), fleet.slotTimeout());
    assertEquals("build7", fleet.host());
  }

  @Test
  void aBadFleetValueNamesItsFileAndLine() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        file(
                            """
                            fleet_endpoints = http://10.0.0.1:2379
                            fleet_reboot_slots = 0
                            """))));
    assertTrue(e.getMessage().startsWith("monitor.conf:2: fleet_reboot_slots"), e.getMessage());
    assertTrue(e.getMessage().contains("not a positive whole number"), e.getMessage());
  }

  @Test
  void aFleetSettingWithoutEndpointsIsAnError() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> MonitorConfig.resolve(List.of(file("fleet_name = farm\n"))));
    assertTrue(e.getMessage().contains("fleet_endpoints is not"), e.getMessage());
  }
}
