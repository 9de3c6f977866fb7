package dev.buildhost.monitor.bootstrap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.testing.FakeSmtp;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.Gpg;
import dev.buildhost.monitor.testing.TestConfigs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * toolchain_trust against signatures and keys made by the real gpg, served by a real HTTP server on
 * 127.0.0.1: the checksum file must be signed by the pinned key before anything is installed.
 */
class ToolchainTrustTest {
  static final String SUMS = "/tc/toolchain.sha256";

  @TempDir static Path keys;
  static Gpg gpg;
  static String trusted;
  static String signingSubkey;
  static String attacker;

  @TempDir Path tmp;
  FileServer server;
  byte[] archive;
  byte[] sums;
  Path keyFile;

  @BeforeAll
  static void makeKeys() throws Exception {
    gpg = new Gpg(keys);
    trusted = gpg.newKey("toolchain signer <toolchain@example.org>");
    attacker = gpg.newKey("someone else <mallory@example.org>");
  }

  @AfterAll
  static void stopAgent() throws Exception {
    gpg.close();
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @BeforeEach
  void serve() throws Exception {
    server = new FileServer();
    archive = new byte[200_000];
    new Random(11).nextBytes(archive);
    sums = (sha256(archive) + "  toolchain.tar.xz\n").getBytes(StandardCharsets.UTF_8);
    server.put("/tc/toolchain.tar.xz", archive).put(SUMS, sums, FileServer.TEXT);
    keyFile = tmp.resolve("toolchain-signer.asc");
    Files.write(keyFile, gpg.export(trusted, true));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  MonitorConfig config(Map<Setting, String> more) throws Exception {
    Map<Setting, String> m = new EnumMap<>(Setting.class);
    m.put(Setting.TOOLCHAIN_URL, server.url(SUMS).toString());
    m.put(Setting.FETCH_RETRIES, "1");
    m.putAll(more);
    return TestConfigs.config(tmp, m);
  }

  ToolchainBootstrap bootstrap(MonitorConfig cfg) {
    return new ToolchainBootstrap(
        cfg,
        cfg.toolchains().get(0),
        new HttpFetcher(cfg.connectTimeout(), cfg.fetchTimeout()),
        ProgressListener.NONE);
  }

  List<String> toolchainTree(MonitorConfig cfg) throws Exception {
    if (!Files.exists(cfg.toolchainsDir())) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(cfg.toolchainsDir())) {
      return s.map(p -> cfg.toolchainsDir().relativize(p).toString())
          .filter(p -> !p.isEmpty())
          .sorted()
          .toList();
    }
  }

  /** The bootstrap is refused with this reason, and nothing is installed. */
  void refused(MonitorConfig cfg, String why) throws Exception {
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(cfg).fetchAndPublish());
    assertTrue(
        e.getMessage()
            .startsWith("toolchain checksum file " + server.url(SUMS) + " is not signed by "),
        e.getMessage());
    assertTrue(e.getMessage().contains(why), e.getMessage());
    assertTrue(e.getMessage().endsWith("; nothing was installed"), e.getMessage());
    assertEquals(List.of(), toolchainTree(cfg), "nothing installed");
    assertEquals(
        0, server.hits("/tc/toolchain.tar.xz"), "nothing downloaded but the checksum file");
  }

  @Test
  void aChecksumFileSignedByThePinnedKeyFileIsInstalledWithItsSignature() throws Exception {
    byte[] sig = gpg.sign(sums, trusted, true);
    server.put(SUMS + ".sig", sig);
    Path log = tmp.resolve("install.log");
    MonitorConfig cfg =
        config(
            Map.of(
                Setting.TOOLCHAIN_TRUST,
                keyFile.toString(),
                Setting.INSTALL_COMMAND,
                "echo \"trust=$BUILDHOST_TOOLCHAIN_TRUST\" > " + log));
    ToolchainBootstrap b = bootstrap(cfg);
    ToolchainBootstrap.Published p = b.fetchAndPublish();
    b.runCommands(p);
    assertArrayEquals(archive, Files.readAllBytes(p.dir().resolve("toolchain.tar.xz")));
    assertArrayEquals(
        sig, Files.readAllBytes(p.dir().resolve("toolchain.sha256.sig")), "published for machines");
    assertEquals(List.of("trust=" + keyFile), Files.readAllLines(log));
  }

  @Test
  void aPinnedFingerprintTrustsTheKeyServedBesideTheChecksumFile() throws Exception {
    server.put(SUMS + ".sig", gpg.sign(sums, trusted, false));
    server.put(SUMS + ".key", gpg.export(trusted, false));
    String spaced = String.join(" ", trusted.split("(?<=\\G.{4})"));
    MonitorConfig cfg = config(Map.of(Setting.TOOLCHAIN_TRUST, spaced));
    ToolchainBootstrap.Published p = bootstrap(cfg).fetchAndPublish();
    assertArrayEquals(archive, Files.readAllBytes(p.dir().resolve("toolchain.tar.xz")));
  }

  @Test
  void aSignatureByASigningSubkeyOfThePinnedKeyIsAccepted() throws Exception {
    try (Gpg own = new Gpg(tmp.resolve("own"))) {
      String primary = own.newKey("signer with subkey <sub@example.org>");
      String sub = own.addSigningSubkey(primary);
      Files.write(keyFile, own.export(primary, true));
      server.put(SUMS + ".sig", own.sign(sums, sub, true));
      ToolchainBootstrap.Published p =
          bootstrap(config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString()))).fetchAndPublish();
      assertTrue(Files.exists(p.dir().resolve("toolchain.tar.xz")));
    }
  }

  @Test
  void anUnsignedToolchainIsRefusedLoggedAndMailed() throws Exception {
    try (FakeSmtp smtp = new FakeSmtp()) {
      Path installed = tmp.resolve("installed");
      MonitorConfig cfg =
          config(
              Map.of(
                  Setting.TOOLCHAIN_TRUST,
                  keyFile.toString(),
                  Setting.INSTALL_COMMAND,
                  "touch " + installed,
                  Setting.SMTP_RELAY,
                  smtp.relay(),
                  Setting.ADMIN_EMAIL,
                  "admin@example.org"));
      refused(cfg, "it is not signed: no signature at " + server.url(SUMS + ".sig"));
      Monitor m =
          new Monitor(cfg, Clock.systemUTC(), tmp.resolve("no-boot-id"), ProgressListener.NONE);
      m.start();
      assertFalse(m.prepare());
      assertFalse(Files.exists(installed), "the install command did not run");
      assertTrue(
          smtp.received().stream()
              .anyMatch(l -> l.endsWith(": toolchain toolchain bootstrap failed")),
          smtp.received().toString());
      assertTrue(
          smtp.received().stream().anyMatch(l -> l.contains("it is not signed: no signature at")),
          smtp.received().toString());
    }
  }

  @Test
  void aSignatureByAnotherKeyIsRefused() throws Exception {
    server.put(SUMS + ".sig", gpg.sign(sums, attacker, true));
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString())),
        "it was made by key " + attacker.substring(24) + ", which is not the trusted key");
  }

  @Test
  void aChecksumFileChangedAfterSigningIsRefused() throws Exception {
    server.put(SUMS + ".sig", gpg.sign(sums, trusted, true));
    byte[] evil = "#!/bin/sh\necho owned\n".getBytes(StandardCharsets.UTF_8);
    server.put("/tc/toolchain.tar.xz", evil);
    server.put(
        SUMS,
        (sha256(evil) + "  toolchain.tar.xz\n").getBytes(StandardCharsets.UTF_8),
        FileServer.TEXT);
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString())),
        "does not match the file (changed after" + " signing?)");
  }

  @Test
  void aServedKeyWithoutThePinnedFingerprintIsRefused() throws Exception {
    server.put(SUMS + ".sig", gpg.sign(sums, attacker, true));
    server.put(SUMS + ".key", gpg.export(attacker, true));
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, trusted)),
        "has the fingerprint " + attacker + ", not the pinned " + trusted);
  }

  @Test
  void somethingThatIsNotASignatureIsRefused() throws Exception {
    server.put(SUMS + ".sig", "<html>not found</html>\n");
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString())), "the signature file is not a");
    Files.writeString(keyFile, "not a key\n");
    server.put(SUMS + ".sig", gpg.sign(sums, trusted, true));
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString())),
        "the toolchain_trust key file " + keyFile + " is not an OpenPGP public key");
    Files.delete(keyFile);
    refused(
        config(Map.of(Setting.TOOLCHAIN_TRUST, keyFile.toString())),
        "the toolchain_trust key file " + keyFile + " cannot be read");
  }

  @Test
  void aChangedChecksumFileWithoutTheTrustedSignatureIsUnknownNotAReboot() throws Exception {
    server.put(SUMS + ".sig", gpg.sign(sums, trusted, true));
    Path rebootLog = tmp.resolve("reboots.log");
    MonitorConfig cfg =
        config(
            Map.of(
                Setting.TOOLCHAIN_TRUST,
                keyFile.toString(),
                Setting.REBOOT_COMMAND,
                TestConfigs.rebootScript(tmp, rebootLog),
                Setting.REBOOT_WHEN_DAEMON_DOWN,
                "true"));
    Monitor m =
        new Monitor(cfg, Clock.systemUTC(), tmp.resolve("no-boot-id"), ProgressListener.NONE);
    m.start();
    assertTrue(m.prepare());
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());

    byte[] v2 =
        (sha256("v2".getBytes(StandardCharsets.UTF_8)) + "  toolchain.tar.xz\n")
            .getBytes(StandardCharsets.UTF_8);
    server.put(SUMS, v2, FileServer.TEXT);
    server.put(SUMS + ".sig", gpg.sign(v2, attacker, true));
    Monitor.CheckResult r = m.check();
    assertEquals(Monitor.Status.UNKNOWN, r.status(), r.message());
    assertTrue(
        r.message()
            .contains(
                "is not signed by the key in "
                    + keyFile
                    + " (not treated as a change): it was"
                    + " made by key"),
        r.message());
    assertEquals(
        List.of(), TestConfigs.rebootLog(rebootLog), "no reboot for an untrusted toolchain");

    server.put(SUMS + ".sig", gpg.sign(v2, trusted, true));
    assertEquals(
        Monitor.Status.REBOOTING, m.check().status(), "signed by the trusted key: a real change");
    assertEquals(1, TestConfigs.rebootLog(rebootLog).size());
  }

  @Test
  void downloadsOverTheirCapAreRefusedWithoutRetries() throws Exception {
    MonitorConfig smallSums =
        config(Map.of(Setting.MAX_CHECKSUM_FILE_SIZE, "32", Setting.FETCH_RETRIES, "3"));
    BootstrapException sumsTooBig =
        assertThrows(BootstrapException.class, () -> bootstrap(smallSums).fetchAndPublish());
    assertTrue(
        sumsTooBig
            .getMessage()
            .contains("more than 32 bytes at " + server.url(SUMS) + " (over the size cap"),
        sumsTooBig.getMessage());
    assertEquals(1, server.hits(SUMS), "not tried again");

    MonitorConfig smallFiles =
        config(Map.of(Setting.MAX_TOOLCHAIN_FILE_SIZE, "100k", Setting.FETCH_RETRIES, "3"));
    BootstrapException announced =
        assertThrows(BootstrapException.class, () -> bootstrap(smallFiles).fetchAndPublish());
    assertTrue(
        announced
            .getMessage()
            .contains(
                "announced 200000 bytes, more than 102400 bytes at "
                    + server.url("/tc/toolchain.tar.xz")),
        announced.getMessage());
    assertTrue(announced.getMessage().endsWith("nothing was installed"), announced.getMessage());
    assertEquals(1, server.hits("/tc/toolchain.tar.xz"));
    assertEquals(List.of(), toolchainTree(smallFiles));

    server.putChunked("/tc/toolchain.tar.xz", archive);
    BootstrapException streamed =
        assertThrows(BootstrapException.class, () -> bootstrap(smallFiles).fetchAndPublish());
    assertTrue(
        streamed
            .getMessage()
            .contains("more than 102400 bytes at " + server.url("/tc/toolchain.tar.xz")),
        streamed.getMessage());
    assertEquals(List.of(), toolchainTree(smallFiles), "the partial download was removed");
  }
}
