package dev.buildhost.manager.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.fleet.FleetSettings;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ContainerLimits;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.network.GuestNetwork;
import dev.buildhost.manager.network.NetworkMode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DaemonSettingsTest {

  static DaemonSettings resolve(Map<Setting, String> file, Map<Setting, String> flags) {
    return DaemonSettings.resolve(file, "test.conf", flags);
  }

  @Test
  void withNothingGivenTheDefaultsHold() {
    DaemonSettings settings = resolve(Map.of(), Map.of());
    assertEquals(ManagerConfig.defaults(Path.of("/build")), settings.manager());
    assertEquals(Path.of("/state/buildhost"), settings.manager().stateDir());
    assertEquals("127.0.0.1", settings.listen().getAddress().getHostAddress());
    assertEquals(7346, settings.listen().getPort());
    assertEquals(69, settings.tftpListen().getPort());
    assertFalse(settings.stopInstancesOnExit());
  }

  @ParameterizedTest
  @CsvSource({"/build/../build", "/srv/b", "/srv/x/../b/"})
  void theDaemonKeepsItsStateWhereTheCliLooksForIt(String root) {
    DaemonSettings settings = resolve(Map.of(Setting.ROOT, root), Map.of());
    assertEquals(
        DaemonEndpoint.stateDir(null, Path.of(root), Map.of()), settings.manager().stateDir());
  }

  @Test
  void everySettingIsRead(@TempDir Path dir) throws Exception {
    Path pem = Files.writeString(dir.resolve("file.pem"), "x");
    Map<Setting, String> values =
        Map.ofEntries(
            Map.entry(Setting.ROOT, "/srv/bh"),
            Map.entry(Setting.STATE_DIR, "/var/lib/bh"),
            Map.entry(Setting.LISTEN, "127.0.0.2:9000"),
            Map.entry(Setting.TFTP_LISTEN, "[::1]:6969"),
            Map.entry(Setting.TFTP_PORTS, "20000 - 20099"),
            Map.entry(Setting.TFTP_UPLOAD_QUOTA, "3G"),
            Map.entry(Setting.TFTP_MAX_FILE, "100M"),
            Map.entry(Setting.MAX_INSTANCES, "3"),
            Map.entry(Setting.RAM_BUDGET, "2G"),
            Map.entry(Setting.DEFAULT_TIMEOUT, "90m"),
            Map.entry(Setting.POWEROFF_GRACE, "PT45S"),
            Map.entry(Setting.ACCEL, "TCG"),
            Map.entry(Setting.LIBVIRT_URI, "qemu:///session"),
            Map.entry(Setting.DOCKER_HOST, "unix:///d.sock"),
            Map.entry(Setting.DOCKER_NETWORK, "none"),
            Map.entry(Setting.CONTAINER_CAPABILITIES, "cap_chown, SYS_CHROOT mknod"),
            Map.entry(Setting.CONTAINER_PIDS_LIMIT, "256"),
            Map.entry(Setting.STOP_INSTANCES_ON_EXIT, "yes"),
            Map.entry(Setting.NETWORK_MODE, "Bridge"),
            Map.entry(Setting.NETWORK_BRIDGE, "bhtest0"),
            Map.entry(Setting.NETWORK_ADDRESS, "10.99.0.1/16"),
            Map.entry(Setting.NETWORK_GUEST_RANGE, "10.99.1.1 - 10.99.1.9"),
            Map.entry(Setting.NETWORK_TABLE, "buildhost_test"),
            Map.entry(Setting.NETWORK_PORT_PREFIX, "bq"),
            Map.entry(Setting.NETWORK_OUTBOUND_NAT, "on"),
            Map.entry(Setting.TOOLCHAINS, "stable=abc123, staging=def456"),
            Map.entry(Setting.FLEET_ENDPOINTS, "https://e1:2379,https://e2:2379"),
            Map.entry(Setting.FLEET_NAME, "lab"),
            Map.entry(Setting.FLEET_HOST, "build-7"),
            Map.entry(Setting.FLEET_CA, pem.toString()),
            Map.entry(Setting.FLEET_CERT, pem.toString()),
            Map.entry(Setting.FLEET_KEY, pem.toString()),
            Map.entry(Setting.FLEET_USER, "bh"),
            Map.entry(Setting.FLEET_PASSWORD_FILE, pem.toString()),
            Map.entry(Setting.FLEET_REBOOT_SLOTS, "2"),
            Map.entry(Setting.FLEET_SLOT_TIMEOUT, "20m"),
            Map.entry(Setting.FLEET_LEASE_TTL, "7"),
            Map.entry(Setting.FLEET_REQUEST_TIMEOUT, "3s"));
    assertEquals(Setting.values().length, values.size(), "a setting is missing from this test");
    DaemonSettings s = resolve(values, Map.of());
    ManagerConfig c = s.manager();
    assertEquals(
        new ManagerConfig(
                Path.of("/srv/bh"),
                Path.of("/var/lib/bh"),
                20000,
                20099,
                3,
                2048,
                Duration.ofMinutes(90),
                Duration.ofSeconds(45),
                Acceleration.TCG,
                "qemu:///session",
                "unix:///d.sock",
                "none")
            .withTftpUploadLimits(new UploadLimits(3L << 30, 100L << 20))
            .withContainerLimits(new ContainerLimits(List.of("CHOWN", "SYS_CHROOT", "MKNOD"), 256)),
        c);
    assertEquals(9000, s.listen().getPort());
    assertEquals("0:0:0:0:0:0:0:1", s.tftpListen().getAddress().getHostAddress());
    assertTrue(s.stopInstancesOnExit());
    assertEquals(Map.of("stable", "abc123", "staging", "def456"), s.toolchains());
    assertEquals(
        new DaemonSettings.NetworkChoice(
            GuestNetwork.of(
                "bridge",
                "bhtest0",
                "10.99.0.1",
                16,
                "10.99.1.1",
                "10.99.1.9",
                "buildhost_test",
                "bq",
                true),
            false),
        s.network());
    assertEquals(
        new FleetSettings(
            List.of(URI.create("https://e1:2379"), URI.create("https://e2:2379")),
            "lab",
            "build-7",
            Optional.of(new FleetSettings.Tls(pem, pem, pem)),
            Optional.of(new FleetSettings.Credentials("bh", pem)),
            2,
            Duration.ofMinutes(20),
            Duration.ofSeconds(7),
            Duration.ofSeconds(3)),
        s.fleet().orElseThrow());
  }

  @Test
  void aBadFleetValueNamesItsFileAndLine() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                DaemonSettings.resolve(
                    ConfigFile.parse(
                        "daemon.conf",
                        "max_instances = 2\nfleet_endpoints = http://e1:2379\nfleet_lease_ttl = 1s\n"),
                    Map.of()));
    assertTrue(e.getMessage().startsWith("daemon.conf:3: fleet_lease_ttl = '1s'"), e.getMessage());
  }

  @Test
  void withoutANetworkModeTheDaemonChoosesWithTheDefaultNames() {
    DaemonSettings.NetworkChoice choice = resolve(Map.of(), Map.of()).network();
    assertTrue(choice.automatic());
    assertEquals(GuestNetwork.defaults(), choice.settings());
    assertEquals(choice, resolve(Map.of(Setting.NETWORK_MODE, "auto"), Map.of()).network());
    DaemonSettings.NetworkChoice user =
        resolve(Map.of(Setting.NETWORK_MODE, "user"), Map.of()).network();
    assertFalse(user.automatic());
    assertEquals(NetworkMode.USER, user.settings().mode());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "NETWORK_MODE|host|--network-mode: 'host' is not a valid value (not auto, bridge or user)",
        "CONTAINER_CAPABILITIES|CHOWN SYS_ADMIN|'SYS_ADMIN' is not a capability a container may keep",
        "CONTAINER_CAPABILITIES|,|no capability named: write 'none' to keep none",
        "CONTAINER_PIDS_LIMIT|0|not a positive whole number",
        "CONTAINER_PIDS_LIMIT|5000000|more than the kernel's 4194304",
        "NETWORK_ADDRESS|196.254.111.222|not ADDRESS/PREFIX",
        "NETWORK_ADDRESS|196.254.111.222/x|the prefix length is not a number",
        "NETWORK_ADDRESS|196.254.111.0/24|is the network or broadcast address",
        "NETWORK_ADDRESS|example.org/24|network host address",
        "NETWORK_GUEST_RANGE|196.254.111.10|not FIRST-LAST",
        "NETWORK_GUEST_RANGE|196.254.111.10-196.254.112.1|is not inside 196.254.111.0/24",
        "NETWORK_BRIDGE|a-bridge-name-too-long|is not an interface name",
        "NETWORK_TABLE|no-dashes|is not an nftables name",
        "NETWORK_PORT_PREFIX|BH|must be 1-4 of a-z 0-9",
        "NETWORK_OUTBOUND_NAT|sometimes|not true or false"
      })
  void aBadNetworkSettingIsNamedWithWhereItCameFrom(Setting setting, String value, String message) {
    ConfigException e =
        assertThrows(ConfigException.class, () -> resolve(Map.of(), Map.of(setting, value)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    assertTrue(e.getMessage().contains(setting.flag()), e.getMessage());
  }

  @Test
  void uploadLimitsComeFromTheFileAndABadOneNamesItsSetting() {
    DaemonSettings settings =
        resolve(Map.of(Setting.TFTP_UPLOAD_QUOTA, "2G"), Map.of(Setting.TFTP_MAX_FILE, "65536"));
    assertEquals(new UploadLimits(2L << 30, 65536), settings.manager().tftpUploadLimits());
    assertEquals(UploadLimits.DEFAULTS, resolve(Map.of(), Map.of()).manager().tftpUploadLimits());
    ConfigException zero =
        assertThrows(
            ConfigException.class, () -> resolve(Map.of(Setting.TFTP_MAX_FILE, "0"), Map.of()));
    assertTrue(zero.getMessage().contains("'tftp_max_file' in"), zero.getMessage());
    assertTrue(zero.getMessage().contains("less than 1 byte"), zero.getMessage());
    ConfigException words =
        assertThrows(
            ConfigException.class,
            () -> resolve(Map.of(Setting.TFTP_UPLOAD_QUOTA, "lots"), Map.of()));
    assertTrue(words.getMessage().contains("'tftp_upload_quota' in"), words.getMessage());
  }

  @Test
  void toolchainsNoneNamesNoToolchain() {
    assertEquals(Map.of(), resolve(Map.of(Setting.TOOLCHAINS, "none"), Map.of()).toolchains());
  }

  @Test
  void aMalformedToolchainsSettingNamesThePairThatIsWrong() {
    for (String[] bad :
        new String[][] {
          {"stable", "'stable' is not NAME=ID"},
          {".hidden=abc", "'.hidden' is not a toolchain name"},
          {"stable=a/b", "the id of stable must be"},
          {"stable=a,stable=b", "toolchain stable is named twice"},
          {"stable=", "the id of stable must be"}
        }) {
      ConfigException e =
          assertThrows(
              ConfigException.class,
              () -> resolve(Map.of(Setting.TOOLCHAINS, bad[0]), Map.of()),
              bad[0]);
      assertTrue(e.getMessage().contains(bad[1]), bad[0] + ": " + e.getMessage());
      assertTrue(e.getMessage().contains("'toolchains' in"), e.getMessage());
    }
  }

  @Test
  void aFlagOverridesTheFileAndTheStateFolderFollowsTheRoot() {
    DaemonSettings s =
        resolve(
            Map.of(Setting.ROOT, "/a", Setting.MAX_INSTANCES, "2"),
            Map.of(Setting.ROOT, "/b", Setting.TFTP_LISTEN, "off"));
    assertEquals(Path.of("/b"), s.manager().root());
    assertEquals(Path.of("/b/state"), s.manager().stateDir());
    assertEquals(2, s.manager().maxInstances());
    assertNull(s.tftpListen());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "RAM_BUDGET|lots|--ram-budget: 'lots' is not a valid value (not a size like 16G or 4096M)",
        "RAM_BUDGET|0M|less than 1 MiB",
        "MAX_INSTANCES|0|not a positive whole number",
        "MAX_INSTANCES|two|not a positive whole number",
        "TFTP_PORTS|10999-10000|the first port must be between 1 and the last port",
        "TFTP_PORTS|1-70000|'70000' is not a port number",
        "LISTEN|127.0.0.1|not ADDRESS:PORT",
        "LISTEN|127.0.0.1:http|'http' is not a port number",
        "DEFAULT_TIMEOUT|0s|not a positive duration",
        "DEFAULT_TIMEOUT|soon|'soon' is not a duration; write e.g. 500ms, 90s",
        "ACCEL|xen|not auto, kvm or tcg",
        "STOP_INSTANCES_ON_EXIT|maybe|not true or false",
        "LIBVIRT_URI|'  '|it is empty"
      })
  void aBadFlagValueIsNamedWithWhatIsExpected(Setting setting, String value, String message) {
    ConfigException e =
        assertThrows(ConfigException.class, () -> resolve(Map.of(), Map.of(setting, value)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    assertTrue(e.getMessage().contains(setting.flag()), e.getMessage());
  }

  @Test
  void aBadFileValueNamesTheFileAndKey() {
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> resolve(Map.of(Setting.RAM_BUDGET, "lots"), Map.of()));
    assertTrue(
        e.getMessage().startsWith("'ram_budget' in test.conf: 'lots' is not a valid value"),
        e.getMessage());
  }

  @Test
  @SuppressWarnings(
      "StringConcatToTextBlock") // a text block would drop the trailing blanks under test
  void theConfigFileIsKeyEqualsValueWithComments(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("daemon.conf");
    Files.writeString(
        file,
        "# buildhost daemon\n\nroot = /srv/build\n  max_instances=4  \nlisten = 127.0.0.1:0\n"
            + "docker_host = unix:///run/docker.sock?x=1\n");
    ConfigFile config = ConfigFile.read(file);
    assertEquals(
        Map.of(
            Setting.ROOT,
            "/srv/build",
            Setting.MAX_INSTANCES,
            "4",
            Setting.LISTEN,
            "127.0.0.1:0",
            Setting.DOCKER_HOST,
            "unix:///run/docker.sock?x=1"),
        config.values());
    assertEquals(List.of(), config.warnings());
  }

  @Test
  void theOldDashedKeysAreReadWithAWarningNamingFileLineAndTheNewSpelling() {
    ConfigFile config =
        ConfigFile.parse(
            "daemon.conf", "root = /srv/build\nstate-dir = /var/lib/bh\nmax-instances = 2\n");
    assertEquals(
        Map.of(
            Setting.ROOT,
            "/srv/build",
            Setting.STATE_DIR,
            "/var/lib/bh",
            Setting.MAX_INSTANCES,
            "2"),
        config.values());
    assertEquals(
        List.of(
            "daemon.conf:2: 'state-dir' is the old spelling; write 'state_dir'",
            "daemon.conf:3: 'max-instances' is the old spelling; write 'max_instances'"),
        config.warnings());
  }

  @Test
  void everyKeyIsWrittenWithUnderscoresAndItsFlagWithDashes() {
    for (Setting setting : Setting.values()) {
      assertFalse(setting.key().contains("-"), setting.key());
      assertEquals("--" + setting.key().replace('_', '-'), setting.flag());
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "root = /a\\nroot = /b|f.conf:2: 'root' is set a second time (first on line 1)",
        "state_dir = /a\\nstate-dir = /b|f.conf:2: 'state_dir' is set a second time (first on line 1)",
        "# ok\\nrot = /a|f.conf:2: unknown key 'rot'; the keys are: root, state_dir",
        "root /a|f.conf:1: expected 'key = value', got 'root /a'"
      })
  void aBadConfigLineIsNamedByFileAndLine(String text, String message) {
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> ConfigFile.parse("f.conf", text.replace("\\n", "\n")));
    assertTrue(e.getMessage().startsWith(message), e.getMessage());
  }

  @Test
  void aMissingConfigFileIsNamed(@TempDir Path dir) {
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigFile.read(dir.resolve("nope.conf")));
    assertTrue(e.getMessage().contains("nope.conf"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({
    "90,PT1M30S",
    "90s,PT1M30S",
    "30m,PT30M",
    "2h,PT2H",
    "1d,PT24H",
    "500ms,PT0.5S",
    "pt1h30m,PT1H30M"
  })
  void durationsReadAsPeopleWriteThem(String text, String iso) {
    assertEquals(
        Duration.parse(iso),
        DaemonSettings.resolve(Map.of(), "f.conf", Map.of(Setting.DEFAULT_TIMEOUT, text))
            .manager()
            .defaultTimeout());
  }
}
