package dev.buildhost.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.config.Setting;
import dev.buildhost.monitor.testing.FileServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MonitorCommandTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    CommandLine cl = MonitorCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void helpListsEverySettingWithItsDefaultAndAnExample() {
    Run r = run("--help");
    assertEquals(0, r.code());
    for (Setting s : Setting.values()) {
      assertTrue(r.out().contains(s.flag() + "="), "missing " + s.flag());
    }
    assertTrue(r.out().contains("--once"));
    assertTrue(r.out().contains("Example:"));
    String flat = r.out().replaceAll("\\s+", " ");
    assertTrue(flat.contains("Default: systemctl reboot."), r.out());
    assertTrue(flat.contains("--max-reboots-per-hour=N Reboots allowed within any hour"), r.out());
  }

  @Test
  void docMonitorMdListsEverySetting() throws Exception {
    String doc = Files.readString(Path.of("../doc/monitor.md"));
    for (Setting s : Setting.values()) {
      String row =
          "| `"
              + s.key()
              + "` | `buildos."
              + s.key()
              + "` | `"
              + s.flag()
              + " "
              + s.label()
              + "` | ";
      assertTrue(doc.contains(row), "doc/monitor.md lacks the row of " + s.key());
    }
  }

  @Test
  void aBadSettingIsExitStatus2WithTheReason() throws Exception {
    Path cmdline = tmp.resolve("cmdline");
    Files.writeString(cmdline, "buildos.interval=often");
    Run r = run("--cmdline", cmdline.toString(), "--root", tmp.toString());
    assertEquals(2, r.code());
    assertEquals(
        "buildhost monitor: "
            + cmdline
            + ": buildos.interval: 'often' is not a duration; write e.g. 500ms,"
            + " 90s, 30m, 2h, 1h30m, 1d, a plain number of seconds, or PT1H30M",
        r.err().strip());
    assertEquals(2, run("--interval").code(), "a flag without its value");
  }

  @Test
  void onceBootstrapsFromTheKernelCommandLineAndChecks() throws Exception {
    byte[] tar = "toolchain".getBytes(StandardCharsets.UTF_8);
    String sum = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
    try (FileServer server = new FileServer()) {
      server
          .put("/os/buildos-buildid", "os-1\n")
          .put("/tc/t.tar", tar)
          .put("/tc/stage.sha256", sum + "  t.tar\n");
      Path cmdline = tmp.resolve("cmdline");
      Files.writeString(
          cmdline,
          "quiet buildos.buildid_url="
              + server.url("/os/buildos-buildid")
              + " buildos.toolchain_url.stage="
              + server.url("/tc/stage.sha256")
              + " buildos.interval=1h\n");
      Path conf = tmp.resolve("monitor.conf");
      Files.writeString(
          conf,
          "install_command = touch " + tmp.resolve("installed") + "\nreboot_command = false\n");
      List<String> args =
          new ArrayList<>(
              List.of(
                  "--once",
                  "--config",
                  conf.toString(),
                  "--cmdline",
                  cmdline.toString(),
                  "--root",
                  tmp.resolve("build").toString(),
                  "--state-dir",
                  tmp.resolve("state").toString(),
                  "--retry-delay",
                  "10ms"));
      Run r = run(args.toArray(String[]::new));
      assertEquals(0, r.code(), r.err());
      assertTrue(Files.exists(tmp.resolve("build/tftp/toolchain/stage/t.tar")));
      assertTrue(Files.exists(tmp.resolve("installed")));
      assertTrue(
          Files.readString(tmp.resolve("state/monitor/state.json"))
              .contains("\"buildId\" : \"os-1\""));

      server.status("/os/buildos-buildid", 404);
      assertEquals(3, run(args.toArray(String[]::new)).code(), "--once with an unknown check");
      server.status("/tc/stage.sha256", 404);
      assertEquals(1, run(args.toArray(String[]::new)).code(), "--once with a failed bootstrap");
    }
  }
}
