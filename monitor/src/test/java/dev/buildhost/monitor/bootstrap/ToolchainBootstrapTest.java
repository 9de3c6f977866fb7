package dev.buildhost.monitor.bootstrap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.TestConfigs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ToolchainBootstrapTest {
  @TempDir Path tmp;
  FileServer server;
  byte[] archive;
  byte[] script;

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @BeforeEach
  void serve() throws Exception {
    server = new FileServer();
    archive = new byte[300_000];
    new Random(7).nextBytes(archive);
    script = "#!/bin/sh\necho installing\n".getBytes(StandardCharsets.UTF_8);
    server.put("/tc/build2-toolchain.tar.xz", archive).put("/tc/bin/install.sh", script);
    server.put(
        "/tc/toolchain.sha256",
        sha256(archive) + "  build2-toolchain.tar.xz\n" + sha256(script) + "  bin/install.sh\n");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  MonitorConfig config(Map<Setting, String> more) throws Exception {
    Map<Setting, String> m = new java.util.EnumMap<>(Setting.class);
    m.put(Setting.TOOLCHAIN_URL, server.url("/tc/toolchain.sha256").toString());
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

  /** Everything under the toolchains folder, hidden leftovers included. */
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

  @Test
  void happyPathPublishesVerifiedFilesReadOnlyAndRunsTheCommands() throws Exception {
    Path log = tmp.resolve("commands.log");
    MonitorConfig cfg =
        config(
            Map.of(
                Setting.INSTALL_COMMAND,
                    "echo \"install in $(pwd) name=$BUILDHOST_TOOLCHAIN_NAME id=$BUILDHOST_TOOLCHAIN_ID"
                        + "\" >> "
                        + log
                        + "; sh bin/install.sh",
                Setting.AGENT_BUILD_COMMAND, "echo agent-build >> " + log));
    ToolchainBootstrap b = bootstrap(cfg);
    ToolchainBootstrap.Published p = b.fetchAndPublish();
    b.runCommands(p);

    Path dir = tmp.resolve("build/tftp/toolchain/toolchain");
    assertEquals(dir, p.dir());
    assertArrayEquals(archive, Files.readAllBytes(dir.resolve("build2-toolchain.tar.xz")));
    assertArrayEquals(script, Files.readAllBytes(dir.resolve("bin/install.sh")));
    assertTrue(
        Files.exists(dir.resolve("toolchain.sha256")),
        "the checksum file is published for the machines too");
    assertEquals(
        "r--r--r--",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("bin/install.sh"))));
    assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    assertEquals(
        List.of(
            "toolchain",
            "toolchain/bin",
            "toolchain/bin/install.sh",
            "toolchain/build2-toolchain.tar.xz",
            "toolchain/toolchain.sha256"),
        toolchainTree(cfg),
        "no temporary folder is left");
    String sumsId = sha256(Files.readAllBytes(dir.resolve("toolchain.sha256")));
    assertEquals(sumsId, p.toolchainId());
    assertEquals(
        List.of("install in " + dir + " name=toolchain id=" + sumsId + "", "agent-build"),
        Files.readAllLines(log));
  }

  @Test
  void aWrongChecksumInstallsNothingAndNamesTheFileAndBothSums() throws Exception {
    MonitorConfig cfg =
        config(Map.of(Setting.INSTALL_COMMAND, "touch " + tmp.resolve("installed")));
    bootstrap(cfg).fetchAndPublish();
    byte[] before =
        Files.readAllBytes(cfg.toolchainsDir().resolve("toolchain/build2-toolchain.tar.xz"));

    byte[] tampered = archive.clone();
    tampered[1000] ^= 1;
    server.put("/tc/build2-toolchain.tar.xz", tampered);
    String listed = sha256(script);
    server.put(
        "/tc/toolchain.sha256",
        sha256(archive)
            + "  build2-toolchain.tar.xz\n"
            + listed
            + "  bin/install.sh\n"
            + "0".repeat(64)
            + "  extra.bin\n");
    server.put("/tc/extra.bin", "x");
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(cfg).fetchAndPublish());
    assertTrue(
        e.getMessage().startsWith("checksum mismatch for build2-toolchain.tar.xz"), e.getMessage());
    assertTrue(e.getMessage().contains("expected " + sha256(archive)), e.getMessage());
    assertTrue(e.getMessage().contains("got " + sha256(tampered)), e.getMessage());
    assertTrue(e.getMessage().contains("nothing was installed"), e.getMessage());
    assertArrayEquals(
        before,
        Files.readAllBytes(cfg.toolchainsDir().resolve("toolchain/build2-toolchain.tar.xz")),
        "the previously published toolchain is untouched");
    assertFalse(Files.exists(cfg.toolchainsDir().resolve("toolchain/extra.bin")));
    assertEquals(
        List.of(
            "toolchain",
            "toolchain/bin",
            "toolchain/bin/install.sh",
            "toolchain/build2-toolchain.tar.xz",
            "toolchain/toolchain.sha256"),
        toolchainTree(cfg),
        "no temporary folder is left");
    assertFalse(Files.exists(tmp.resolve("installed")), "the install command did not run");
  }

  @Test
  void aWrongChecksumOnAFreshHostLeavesNoToolchainFolder() throws Exception {
    server.put("/tc/bin/install.sh", "#!/bin/sh\necho evil\n");
    MonitorConfig cfg = config(Map.of());
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(cfg).fetchAndPublish());
    assertTrue(e.getMessage().startsWith("checksum mismatch for bin/install.sh"), e.getMessage());
    assertEquals(List.of(), toolchainTree(cfg));
  }

  @Test
  void aMissingFileIsRetriedThenFailsCleanly() throws Exception {
    server.status("/tc/bin/install.sh", 404);
    MonitorConfig cfg = config(Map.of(Setting.FETCH_RETRIES, "2"));
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(cfg).fetchAndPublish());
    assertTrue(
        e.getMessage().contains("after 3 tries: HTTP 404 from " + server.url("/tc/bin/install.sh")),
        e.getMessage());
    assertEquals(3, server.hits("/tc/bin/install.sh"));
    assertEquals(List.of(), toolchainTree(cfg));
  }

  @Test
  void aStalledDownloadTimesOut() throws Exception {
    server.slow("/tc/build2-toolchain.tar.xz", archive, 10_000);
    MonitorConfig cfg = config(Map.of(Setting.FETCH_TIMEOUT, "300ms", Setting.FETCH_RETRIES, "0"));
    long t0 = System.nanoTime();
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(cfg).fetchAndPublish());
    assertTrue(e.getMessage().contains("timed out"), e.getMessage());
    assertTrue(
        (System.nanoTime() - t0) / 1_000_000 < 8000, "the fetch did not wait for the server");
    assertEquals(List.of(), toolchainTree(cfg));
  }

  @Test
  void aMalformedChecksumFileIsAClearError() throws Exception {
    server.put("/tc/toolchain.sha256", sha256(archive) + "  ok.tar\nthis is not a checksum line\n");
    BootstrapException e =
        assertThrows(BootstrapException.class, () -> bootstrap(config(Map.of())).fetchAndPublish());
    assertTrue(
        e.getMessage().contains("toolchain.sha256 line 2: expected '<64 hex digits>  <file name>'"),
        e.getMessage());
  }

  @Test
  void aFailingInstallCommandIsReportedWithItsOutput() throws Exception {
    MonitorConfig cfg = config(Map.of(Setting.INSTALL_COMMAND, "echo cannot find gcc; exit 3"));
    ToolchainBootstrap b = bootstrap(cfg);
    ToolchainBootstrap.Published p = b.fetchAndPublish();
    BootstrapException e = assertThrows(BootstrapException.class, () -> b.runCommands(p));
    assertEquals("install: exited with status 3; last output: cannot find gcc", e.getMessage());
  }

  @Test
  void republishingReplacesTheOldToolchain() throws Exception {
    MonitorConfig cfg = config(Map.of());
    bootstrap(cfg).fetchAndPublish();
    byte[] v2 = "new archive".getBytes(StandardCharsets.UTF_8);
    server.put("/tc/build2-toolchain.tar.xz", v2);
    server.put("/tc/toolchain.sha256", sha256(v2) + "  build2-toolchain.tar.xz\n");
    bootstrap(cfg).fetchAndPublish();
    assertArrayEquals(
        v2, Files.readAllBytes(cfg.toolchainsDir().resolve("toolchain/build2-toolchain.tar.xz")));
    assertEquals(
        List.of("toolchain", "toolchain/build2-toolchain.tar.xz", "toolchain/toolchain.sha256"),
        toolchainTree(cfg));
  }

  @Test
  void theProgressBarShowsPercentAndSizes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Progress.Bar bar = new Progress.Bar(new PrintStream(out, true, StandardCharsets.UTF_8));
    bar.started("toolchain.tar.xz", 4 * 1024 * 1024);
    bar.advanced(2 * 1024 * 1024);
    String line = bar.line();
    assertTrue(line.startsWith("toolchain.tar.xz [" + "=".repeat(15) + ">"), line);
    assertTrue(line.contains(" 50%  2.0 MiB/4.0 MiB"), line);
    bar.finished(true);
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("\rtoolchain.tar.xz ["));
  }

  @Test
  void theChecksumFileIsAlsoPublishedAsToolchainSha256WhoseHashIsTheId() throws Exception {
    byte[] sums =
        (sha256(archive) + "  build2-toolchain.tar.xz\n").getBytes(StandardCharsets.UTF_8);
    server.put("/tc/public-0.17.sha256", sums);
    MonitorConfig cfg =
        config(Map.of(Setting.TOOLCHAIN_URL, server.url("/tc/public-0.17.sha256").toString()));
    ToolchainBootstrap.Published p = bootstrap(cfg).fetchAndPublish();
    assertEquals(
        List.of(
            "public-0.17",
            "public-0.17/build2-toolchain.tar.xz",
            "public-0.17/public-0.17.sha256",
            "public-0.17/toolchain.sha256"),
        toolchainTree(cfg));
    assertArrayEquals(sums, Files.readAllBytes(p.dir().resolve("public-0.17.sha256")));
    assertArrayEquals(sums, Files.readAllBytes(p.dir().resolve("toolchain.sha256")));
    assertEquals(sha256(sums), p.toolchainId());
  }

  @Test
  void aListedFileNamedToolchainSha256IsRefused() throws Exception {
    byte[] other = "not the checksum file\n".getBytes(StandardCharsets.UTF_8);
    server.put("/tc/toolchain.sha256-listed", other);
    server.put("/tc/toolchain.sha256", other);
    server.put("/tc/sums.sha256", sha256(other) + "  toolchain.sha256\n");
    MonitorConfig cfg =
        config(Map.of(Setting.TOOLCHAIN_URL, server.url("/tc/sums.sha256").toString()));
    BootstrapException e = assertThrows(BootstrapException.class, bootstrap(cfg)::fetchAndPublish);
    assertEquals(
        "toolchain checksum file "
            + server.url("/tc/sums.sha256")
            + " lists a file named toolchain.sha256, the name under which the checksum file itself"
            + " is published (it gives the toolchain's id); rename that file; nothing was installed",
        e.getMessage());
    assertEquals(List.of(), toolchainTree(cfg));
  }
}
