package dev.buildhost.monitor.tmpfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildhost.monitor.Monitor;
import dev.buildhost.monitor.MonitorCommand;
import dev.buildhost.monitor.bootstrap.BootstrapException;
import dev.buildhost.monitor.bootstrap.ToolchainBootstrap;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.state.HostInfo;
import dev.buildhost.monitor.testing.FileServer;
import dev.buildhost.monitor.testing.TestConfigs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real tmpfs: needs root. Under CI=true it must run; elsewhere it is skipped when not root. */
class TftpTmpfsTest {
  @TempDir Path tmp;
  Path tftp;

  @BeforeEach
  void needRoot() {
    if (!"true".equals(System.getenv("CI"))) {
      assumeTrue(HostInfo.isRoot(), "mounting a tmpfs needs root");
    }
    assertTrue(HostInfo.isRoot(), "CI runs as root: the tmpfs test must run there");
    tftp = tmp.resolve("build/tftp");
  }

  @AfterEach
  void unmount() throws Exception {
    if (tftp != null && Files.exists(tftp) && TftpTmpfs.isMountPoint(tftp.toRealPath())) {
      Process p = new ProcessBuilder("umount", tftp.toString()).inheritIO().start();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "umount " + tftp);
    }
  }

  @Test
  void mountsASizeLimitedTmpfsOnceAndReportsUsage() throws Exception {
    assertEquals(TftpTmpfs.Mounted.MOUNTED, TftpTmpfs.mount(tftp, "2m"));
    assertTrue(TftpTmpfs.isMountPoint(tftp.toRealPath()));
    TftpTmpfs.Usage before = TftpTmpfs.usage(tftp);
    assertEquals("tmpfs", before.type());
    assertEquals(2 * 1024 * 1024, before.total());
    Files.write(tftp.resolve("half"), new byte[1024 * 1024]);
    TftpTmpfs.Usage after = TftpTmpfs.usage(tftp);
    assertTrue(after.used() >= 1024 * 1024, after.toString());
    assertTrue(
        after.toString().startsWith("tmpfs: 1024 KiB used of 2048 KiB (50%)"), after.toString());
    assertEquals(
        TftpTmpfs.Mounted.ALREADY_MOUNTED, TftpTmpfs.mount(tftp, "2m"), "not mounted twice");
    assertEquals(
        1,
        Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
            .filter(l -> l.split(" ")[4].equals(tftp.toString()))
            .count());
  }

  @Test
  void mountsOverAnEmptyRootThatExistsAlready() throws Exception {
    Files.createDirectories(tftp);
    assertEquals(TftpTmpfs.Mounted.MOUNTED, TftpTmpfs.mount(tftp, "1m"));
    assertTrue(TftpTmpfs.isMountPoint(tftp.toRealPath()));
    assertEquals("tmpfs", TftpTmpfs.usage(tftp).type());
  }

  @Test
  void refusesToMountOverARootThatHoldsInstanceFolders() throws Exception {
    Path running = Files.createDirectories(tftp.resolve("i-42"));
    Files.writeString(running.resolve("result.manifest"), "uploaded while the daemon ran\n");
    java.io.IOException e =
        assertThrows(java.io.IOException.class, () -> TftpTmpfs.mount(tftp, "1m"));
    assertTrue(
        e.getMessage()
            .startsWith(
                "refusing to mount a tmpfs over "
                    + tftp.toRealPath()
                    + ": it is not empty (it holds i-42)"),
        e.getMessage());
    assertTrue(e.getMessage().contains("nothing was mounted"), e.getMessage());
    assertFalse(TftpTmpfs.isMountPoint(tftp.toRealPath()), "nothing mounted");
    assertEquals(
        "uploaded while the daemon ran\n",
        Files.readString(running.resolve("result.manifest")),
        "the running instance's folder is still visible");
  }

  @Test
  void theMountOnlyCommandRefusesANonEmptyRootWithStatus1() throws Exception {
    Files.createDirectories(tftp.resolve("toolchain"));
    String[] args = {
      "--mount-tmpfs",
      "--root",
      tmp.resolve("build").toString(),
      "--state-dir",
      tmp.resolve("state").toString(),
      "--tftp-tmpfs-size",
      "1m",
      "--cmdline",
      tmp.resolve("no-cmdline").toString()
    };
    assertEquals(1, MonitorCommand.commandLine().execute(args));
    assertFalse(TftpTmpfs.isMountPoint(tftp.toRealPath()));
    Files.delete(tftp.resolve("toolchain"));
    assertEquals(0, MonitorCommand.commandLine().execute(args));
    assertTrue(TftpTmpfs.isMountPoint(tftp.toRealPath()));
    assertEquals(0, MonitorCommand.commandLine().execute(args), "mounted already: nothing to do");
    assertEquals(
        1,
        Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
            .filter(l -> l.split(" ")[4].equals(tftp.toString()))
            .count());
  }

  @Test
  void theMonitorMountsItAtStart() throws Exception {
    MonitorConfig cfg = TestConfigs.config(tmp, Map.of(Setting.TFTP_TMPFS_SIZE, "3m"));
    assertEquals(tftp, cfg.tftpDir());
    Monitor m =
        new Monitor(cfg, Clock.systemUTC(), tmp.resolve("no-boot-id"), ProgressListener.NONE);
    m.start();
    assertTrue(TftpTmpfs.isMountPoint(tftp.toRealPath()));
    assertEquals(3 * 1024 * 1024, TftpTmpfs.usage(tftp).total());
    assertEquals(Monitor.Status.UNCHANGED, m.check().status());
  }

  @Test
  void aToolchainTooBigForTheTmpfsInstallsNothing() throws Exception {
    assertEquals(TftpTmpfs.Mounted.MOUNTED, TftpTmpfs.mount(tftp, "1m"));
    byte[] big = new byte[2 * 1024 * 1024];
    String sum = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(big));
    try (FileServer server = new FileServer()) {
      server.put("/big.bin", big).put("/toolchain.sha256", sum + "  big.bin\n");
      MonitorConfig cfg =
          TestConfigs.config(
              tmp,
              Map.of(
                  Setting.TOOLCHAIN_URL,
                  server.url("/toolchain.sha256").toString(),
                  Setting.FETCH_RETRIES,
                  "0"));
      ToolchainBootstrap b =
          new ToolchainBootstrap(
              cfg,
              cfg.toolchains().get(0),
              new HttpFetcher(cfg.connectTimeout(), cfg.fetchTimeout()),
              ProgressListener.NONE);
      BootstrapException e = assertThrows(BootstrapException.class, b::fetchAndPublish);
      assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
      try (var s = Files.list(cfg.toolchainsDir())) {
        assertEquals(List.of(), s.toList(), "the partial download was removed");
      }
      assertFalse(Files.exists(cfg.toolchainsDir().resolve("toolchain")));
      assertTrue(
          TftpTmpfs.usage(tftp).used() < 64 * 1024, "space given back: " + TftpTmpfs.usage(tftp));
    }
  }
}
