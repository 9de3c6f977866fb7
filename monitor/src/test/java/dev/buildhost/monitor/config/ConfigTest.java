package dev.buildhost.monitor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.common.time.Durations;
import dev.buildhost.monitor.trust.PinnedKey;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigTest {
  @TempDir Path tmp;

  private static ConfigSource file(String text) throws ConfigException {
    return ConfigFile.parse("monitor.conf", text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void defaultsFollowTheRoot() throws Exception {
    MonitorConfig d = MonitorConfig.resolve(List.of());
    assertEquals(Path.of("/build"), d.root());
    assertEquals(Path.of("/state/buildhost"), d.stateDir());
    assertEquals(Path.of("/state/buildhost/api-token"), d.tokenFile());
    assertEquals(Duration.ofMinutes(5), d.interval());
    assertEquals("systemctl reboot", d.rebootCommand());
    assertEquals(3, d.maxRebootsPerHour());
    assertEquals(Duration.ofHours(2), d.drainTimeout());
    assertEquals(AgentMode.NONE, d.effectiveAgentMode());
    assertNull(d.buildIdUrl());
    MonitorConfig other =
        MonitorConfig.resolve(List.of(ConfigLoader.flags(Map.of(Setting.ROOT, "/srv/b"))));
    assertEquals(Path.of("/srv/b/state"), other.stateDir());
    assertEquals(Path.of("/srv/b/tftp/toolchain"), other.toolchainsDir());
  }

  @Test
  void flagBeatsCmdlineBeatsFileBeatsDefault() throws Exception {
    ConfigSource f =
        file(
            "# comment\ninterval = 1m\ndrain_timeout=10m\nmax_reboots_per_hour = 7\n\nroot = /f\n");
    ConfigSource k =
        KernelCmdline.parse(
            "cmdline", "BOOT_IMAGE=/vmlinuz quiet buildos.interval=2m buildos.root=/k");
    ConfigSource fl = ConfigLoader.flags(Map.of(Setting.INTERVAL, "3m"));
    MonitorConfig c = MonitorConfig.resolve(List.of(f, k, fl));
    assertEquals(Duration.ofMinutes(3), c.interval());
    assertEquals(Path.of("/k"), c.root());
    assertEquals(Duration.ofMinutes(10), c.drainTimeout());
    assertEquals(7, c.maxRebootsPerHour());
    assertEquals(Duration.ofMinutes(10), c.fetchTimeout());
  }

  @Test
  void kernelCmdlineInBuildOsStyle() throws Exception {
    ConfigSource k =
        KernelCmdline.parse(
            "cmdline",
            "quiet buildos.buildid_url=http://h/buildos-buildid buildos.toolchain_url.stage=http://h/t/toolchain.sha256"
                + " buildos.toolchain_trust.stage=4E:7C:0A:9B:1D:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01 buildos.smtp_relay=mail.example.org:2525"
                + " buildos.admin_email=a@example.org,b@example.org buildos.install_command=\"sh ./install.sh --x\""
                + " buildos.state=LABEL buildos.flag -- buildos.interval=1s");
    MonitorConfig c = MonitorConfig.resolve(List.of(k));
    assertEquals(URI.create("http://h/buildos-buildid"), c.buildIdUrl());
    assertEquals(1, c.toolchains().size());
    Toolchain stage = c.toolchains().get(0);
    assertEquals(URI.create("http://h/t/toolchain.sha256"), stage.url());
    assertEquals("stage", stage.name());
    assertEquals("4E:7C:0A:9B:1D:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01", stage.trust());
    assertEquals(
        new PinnedKey(null, "4E7C0A9B1D2233445566778899AABBCCDDEEFF01"), stage.trustedKey());
    assertEquals("mail.example.org:2525", c.smtpRelay());
    assertEquals(List.of("a@example.org", "b@example.org"), c.adminEmail());
    assertEquals("sh ./install.sh --x", c.installCommand());
    assertEquals(Duration.ofMinutes(5), c.interval(), "parameters after -- belong to init");
    assertTrue(
        c.warnings().stream().anyMatch(w -> w.contains("buildos.state")), c.warnings().toString());
    assertTrue(
        c.warnings().stream().anyMatch(w -> w.contains("buildos.flag")), c.warnings().toString());
  }

  @Test
  void toolchainNameComesFromTheChecksumFileName() throws Exception {
    MonitorConfig c =
        MonitorConfig.resolve(
            List.of(
                ConfigLoader.flags(
                    Map.of(
                        Setting.TOOLCHAIN_URL,
                        "https://download.example.org/0.17/toolchain.sha256"))));
    assertEquals("toolchain", c.toolchains().get(0).name());
    MonitorConfig named =
        MonitorConfig.resolve(
            List.of(
                ConfigLoader.flags(
                    Map.of(Setting.TOOLCHAIN_URL, "https://h/x/public-0.17.sha256"))));
    assertEquals("public-0.17", named.toolchains().get(0).name());
  }

  @Test
  void trustForAnotherToolchainIsIgnoredWithAWarning() throws Exception {
    ConfigSource k =
        KernelCmdline.parse(
            "cmdline", "buildos.toolchain_url.a=http://h/a.sha256 buildos.toolchain_trust.b=XX");
    MonitorConfig c = MonitorConfig.resolve(List.of(k));
    assertNull(c.toolchains().get(0).trust());
    assertTrue(c.warnings().stream().anyMatch(w -> w.contains("toolchain 'b'")));
  }

  @Test
  void severalToolchainsAreServedEachWithItsOwnTrust() throws Exception {
    String fpA = "4E7C0A9B1D2233445566778899AABBCCDDEEFF01";
    String fpAll = "0123456789ABCDEF0123456789ABCDEF01234567";
    ConfigSource k =
        KernelCmdline.parse(
            "/proc/cmdline",
            "buildos.toolchain_url.stable=http://h/stable/toolchain.sha256"
                + " buildos.toolchain_url.staging=http://h/staging/toolchain.sha256"
                + " buildos.toolchain_trust.stable="
                + fpA
                + " buildos.toolchain_trust="
                + fpAll);
    MonitorConfig c = MonitorConfig.resolve(List.of(k));
    assertEquals(
        List.of("stable", "staging"), c.toolchains().stream().map(Toolchain::name).toList());
    Toolchain stable = c.toolchains().get(0);
    Toolchain staging = c.toolchains().get(1);
    assertEquals(URI.create("http://h/stable/toolchain.sha256"), stable.url());
    assertEquals(URI.create("http://h/staging/toolchain.sha256"), staging.url());
    assertEquals(new PinnedKey(null, fpA), stable.trustedKey(), "its own trust");
    assertEquals(
        new PinnedKey(null, fpAll), staging.trustedKey(), "the unnamed trust for the others");
    assertEquals("/proc/cmdline: buildos.toolchain_url.staging", staging.origin());
    assertEquals(List.of(), c.warnings());
  }

  @Test
  void aNamedToolchainAndAPlainOneAreTwoUnlessTheyShareTheName() throws Exception {
    ConfigSource file =
        file(
            """
        toolchain_url = http://h/a/toolchain.sha256
        toolchain_url.staging = http://h/b/toolchain.sha256
        """);
    MonitorConfig two = MonitorConfig.resolve(List.of(file));
    assertEquals(
        List.of("toolchain", "staging"), two.toolchains().stream().map(Toolchain::name).toList());

    // The same name in a source of higher precedence replaces it, as any setting.
    ConfigSource cmdline =
        KernelCmdline.parse("/proc/cmdline", "buildos.toolchain_url.toolchain=http://h/c/t.sha256");
    MonitorConfig replaced = MonitorConfig.resolve(List.of(file, cmdline));
    assertEquals(2, replaced.toolchains().size());
    assertEquals(URI.create("http://h/c/t.sha256"), replaced.toolchains().get(0).url());

    ConfigException clash =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        file(
                            """
        toolchain_url = http://h/a/stage.sha256
        toolchain_url.stage = http://h/b/toolchain.sha256
        """))));
    assertEquals(
        "monitor.conf:2: toolchain_url.stage: names toolchain 'stage', which monitor.conf:1:"
            + " toolchain_url names too; keep one",
        clash.getMessage());
  }

  @Test
  void aBadToolchainUrlOrTrustNamesItsSetting() {
    ConfigException url =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        KernelCmdline.parse(
                            "/proc/cmdline",
                            "buildos.toolchain_url.a=http://h/a.sha256"
                                + " buildos.toolchain_url.b=ftp://h/b.sha256"))));
    assertEquals(
        "/proc/cmdline: buildos.toolchain_url.b: 'ftp://h/b.sha256' is not an http:// or https://"
            + " URL",
        url.getMessage());
    ConfigException trust =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        KernelCmdline.parse(
                            "/proc/cmdline",
                            "buildos.toolchain_url.a=http://h/a.sha256"
                                + " buildos.toolchain_url.b=http://h/b.sha256"
                                + " buildos.toolchain_trust.b=nope"))));
    assertTrue(
        trust.getMessage().startsWith("/proc/cmdline: buildos.toolchain_trust.b: 'nope' is"),
        trust.getMessage());
  }

  @Test
  void severalToolchainsNeedAnAgentUnitPerToolchain() throws Exception {
    String two =
        "buildos.toolchain_url.stable=http://h/s.sha256 buildos.toolchain_url.staging=http://h/t.sha256";
    ConfigException one =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        KernelCmdline.parse(
                            "/proc/cmdline", two + " buildos.agent_unit=bbot-agent.service"))));
    assertTrue(
        one.getMessage()
            .startsWith(
                "/proc/cmdline: buildos.agent_unit: 'bbot-agent.service' is one unit, but the host"
                    + " serves 2 toolchains (stable, staging) and starts one agent each"),
        one.getMessage());

    MonitorConfig template =
        MonitorConfig.resolve(
            List.of(
                KernelCmdline.parse(
                    "/proc/cmdline", two + " buildos.agent_unit=bbot-agent@.service")));
    assertEquals(
        List.of("bbot-agent@stable.service", "bbot-agent@staging.service"),
        template.toolchains().stream().map(t -> t.agentUnit(template.agentUnit())).toList());
    MonitorConfig placeholder =
        MonitorConfig.resolve(
            List.of(
                KernelCmdline.parse(
                    "/proc/cmdline",
                    two
                        + " buildos.agent_unit=agent-{toolchain}.service"
                        + " buildos.agent_command=\"bbot --toolchain {toolchain}\"")));
    assertEquals(
        "agent-staging.service",
        placeholder.toolchains().get(1).agentUnit(placeholder.agentUnit()));
    assertEquals(
        "bbot --toolchain stable",
        placeholder.toolchains().get(0).agentCommand(placeholder.agentCommand()));

    ConfigException noToolchain =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        ConfigLoader.flags(Map.of(Setting.AGENT_UNIT, "bbot-agent@.service")))));
    assertEquals(
        "--agent-unit: 'bbot-agent@.service' names a toolchain, but no toolchain_url is set: set"
            + " one or name a plain unit",
        noToolchain.getMessage());
  }

  @Test
  void fileErrorsNameTheLine() {
    ConfigException unknown =
        assertThrows(ConfigException.class, () -> file("interval = 1m\nintervall = 2m\n"));
    assertTrue(
        unknown.getMessage().startsWith("monitor.conf:2: unknown setting 'intervall'"),
        unknown.getMessage());
    ConfigException noEq = assertThrows(ConfigException.class, () -> file("\n\njust words\n"));
    assertTrue(
        noEq.getMessage().startsWith("monitor.conf:3: expected 'key = value'"), noEq.getMessage());
    ConfigException twice = assertThrows(ConfigException.class, () -> file("root=/a\nroot=/b\n"));
    assertTrue(
        twice
            .getMessage()
            .contains("monitor.conf:2: 'root' is set a second time (first on line 1)"),
        twice.getMessage());
    ConfigException binary =
        assertThrows(
            ConfigException.class,
            () -> ConfigFile.parse("monitor.conf", new byte[] {(byte) 0xff, (byte) 0xfe, 0}));
    assertTrue(binary.getMessage().contains("not UTF-8"), binary.getMessage());
  }

  @Test
  void hardeningSettingsAreCheckedAndHaveSafeDefaults() throws Exception {
    MonitorConfig d = MonitorConfig.resolve(List.of(ConfigLoader.flags(Map.of())));
    assertEquals(false, d.rebootWhenDaemonDown());
    assertEquals(1L << 20, d.maxChecksumFileSize());
    assertEquals(4L << 30, d.maxToolchainFileSize());
    assertEquals(List.of(), d.toolchains());
    MonitorConfig set =
        MonitorConfig.resolve(
            List.of(
                file(
                    """
        reboot_when_daemon_down = yes
        max_checksum_file_size = 64k
        max_toolchain_file_size = 512m
        toolchain_trust = /etc/buildhost/toolchain.asc
        toolchain_url = http://h/toolchain.sha256
        """)));
    assertEquals(true, set.rebootWhenDaemonDown());
    assertEquals(64 * 1024, set.maxChecksumFileSize());
    assertEquals(512L << 20, set.maxToolchainFileSize());
    assertEquals(
        new PinnedKey(Path.of("/etc/buildhost/toolchain.asc"), null),
        set.toolchains().get(0).trustedKey());
    ConfigException bool =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        ConfigLoader.flags(Map.of(Setting.REBOOT_WHEN_DAEMON_DOWN, "sometimes")))));
    assertEquals("--reboot-when-daemon-down: 'sometimes' is not true or false", bool.getMessage());
    ConfigException size =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.MAX_TOOLCHAIN_FILE_SIZE, "lots")))));
    assertTrue(
        size.getMessage().startsWith("--max-toolchain-file-size: 'lots' is not a size"),
        size.getMessage());
    ConfigException zero =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.MAX_TOOLCHAIN_FILE_SIZE, "0")))));
    assertEquals("--max-toolchain-file-size: '0' is not a size larger than 0", zero.getMessage());
    ConfigException trust =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        KernelCmdline.parse("/proc/cmdline", "buildos.toolchain_trust=AB:CD"))));
    assertTrue(
        trust
            .getMessage()
            .startsWith(
                "/proc/cmdline: buildos.toolchain_trust: 'AB:CD' is neither an absolute"
                    + " path to an OpenPGP public key file nor an OpenPGP key fingerprint"),
        trust.getMessage());
  }

  @Test
  void aDashedKeyIsReadWithAWarningNamingFileLineAndTheNewSpelling() throws Exception {
    MonitorConfig c =
        MonitorConfig.resolve(
            List.of(file("root = /x\nstate-dir = /s\nmax-reboots-per-hour = 1\n")));
    assertEquals(Path.of("/s"), c.stateDir());
    assertEquals(1, c.maxRebootsPerHour());
    assertEquals(
        List.of(
            "monitor.conf:2: 'state-dir' is the old spelling; write 'state_dir'",
            "monitor.conf:3: 'max-reboots-per-hour' is the old spelling; write 'max_reboots_per_hour'"),
        c.warnings());
  }

  @Test
  void badValuesNameTheirOrigin() throws Exception {
    ConfigException dur =
        assertThrows(
            ConfigException.class,
            () -> MonitorConfig.resolve(List.of(file("root=/x\n\ninterval = soon\n"))));
    assertEquals(
        "monitor.conf:3: interval: 'soon' is not a duration; write e.g. " + Durations.FORMS,
        dur.getMessage());
    ConfigException url =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(
                        KernelCmdline.parse("/proc/cmdline", "buildos.buildid_url=ftp://h/x"))));
    assertTrue(
        url.getMessage()
            .startsWith("/proc/cmdline: buildos.buildid_url: 'ftp://h/x' is not an http"),
        url.getMessage());
    ConfigException n =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.MAX_REBOOTS_PER_HOUR, "-1")))));
    assertTrue(
        n.getMessage().startsWith("--max-reboots-per-hour: -1 is out of range"), n.getMessage());
    ConfigException size =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.TFTP_TMPFS_SIZE, "1g,exec")))));
    assertTrue(size.getMessage().contains("not a tmpfs size"), size.getMessage());
    ConfigException mode =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.AGENT_MODE, "systemd")))));
    assertTrue(mode.getMessage().contains("systemd needs agent_unit"), mode.getMessage());
    ConfigException name =
        assertThrows(
            ConfigException.class,
            () ->
                MonitorConfig.resolve(
                    List.of(ConfigLoader.flags(Map.of(Setting.TOOLCHAIN_NAME, "../etc")))));
    assertTrue(name.getMessage().contains("not a usable folder name"), name.getMessage());
  }

  @Test
  void loaderReadsFilesAndComplainsAboutAMissingConfig() throws Exception {
    Path conf = tmp.resolve("monitor.conf");
    Files.writeString(conf, "interval = 7s\nreboot_command = echo reboot\n");
    Path cmdline = tmp.resolve("cmdline");
    Files.writeString(cmdline, "quiet buildos.interval=8s\n");
    MonitorConfig c = ConfigLoader.load(conf, cmdline, Map.of());
    assertEquals(Duration.ofSeconds(8), c.interval());
    assertEquals("echo reboot", c.rebootCommand());
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.load(tmp.resolve("nope.conf"), cmdline, Map.of()));
    assertTrue(e.getMessage().contains("nope.conf does not exist"), e.getMessage());
    MonitorConfig noCmdline = ConfigLoader.load(conf, tmp.resolve("missing-cmdline"), Map.of());
    assertEquals(Duration.ofSeconds(7), noCmdline.interval());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "500ms:500",
        "30s:30000",
        "5m:300000",
        "2h:7200000",
        "1h30m:5400000",
        "1d:86400000",
        "45:45000",
        "PT2M:120000"
      })
  void durations(String spec) {
    String[] p = spec.split(":");
    assertEquals(Long.parseLong(p[1]), Durations.parse(p[0]).toMillis());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-1s", "1x", "s", "1.5h", "PT-1S", "99999999999999999999s"})
  void badDurations(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Durations.parse(text));
    assertTrue(e.getMessage().contains("is not a duration"), e.getMessage());
  }

  @Test
  void kernelTokensKeepQuotedBlanks() {
    assertEquals(List.of("a", "b=c d", "e"), KernelCmdline.tokens("  a b=\"c d\"\te\n"));
  }
}
