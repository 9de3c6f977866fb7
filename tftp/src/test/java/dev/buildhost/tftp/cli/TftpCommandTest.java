package dev.buildhost.tftp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.net.Addresses;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TftpCommandTest {
  @TempDir Path root;

  @Test
  void sizes() {
    TftpCommand.SizeConverter c = new TftpCommand.SizeConverter();
    assertEquals(1000L, c.convert("1000"));
    assertEquals(512L * 1024, c.convert("512k"));
    assertEquals(2L << 20, c.convert("2M"));
    assertEquals(3L << 30, c.convert("3GiB"));
    assertEquals(1L << 40, c.convert("1TB"));
    for (String bad : new String[] {"", "x", "-1", "1.5G", "99999999999T"}) {
      assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
    }
    CommandLine.TypeConversionException lots =
        assertThrows(CommandLine.TypeConversionException.class, () -> c.convert("lots"));
    assertTrue(lots.getMessage().startsWith("'lots' is not a size"), lots.getMessage());
  }

  @Test
  void listenAddresses() throws Exception {
    TftpCommand.ListenConverter c = new TftpCommand.ListenConverter();
    InetSocketAddress a = c.convert("127.0.0.1:0");
    assertEquals("127.0.0.1", a.getAddress().getHostAddress());
    assertEquals(0, a.getPort());
    assertEquals(69, c.convert("[::1]:69").getPort());
    assertEquals("[::1]:69", Addresses.hostPort(c.convert("[::1]:69")));
    for (String bad : new String[] {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"}) {
      assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
    }
  }

  private void assertUsageError(String message, String... options) {
    StringWriter err = new StringWriter();
    CommandLine cmd = new CommandLine(new TftpCommand()).setErr(new PrintWriter(err));
    String[] args = new String[options.length + 4];
    args[0] = "--root";
    args[1] = root.toString();
    args[2] = "--listen";
    args[3] = "127.0.0.1:0";
    System.arraycopy(options, 0, args, 4, options.length);
    assertEquals(2, cmd.execute(args), err.toString());
    assertTrue(err.toString().contains(message), err.toString());
  }

  @Test
  void badOptionsAreUsageErrors() {
    StringWriter err = new StringWriter();
    CommandLine cmd = new CommandLine(new TftpCommand()).setErr(new PrintWriter(err));
    int code =
        cmd.execute("--root", root.toString(), "--listen", "127.0.0.1:0", "--max-blksize", "7");
    assertEquals(2, code);
    assertTrue(err.toString().contains("8-65464"), err.toString());
    assertUsageError("--max-timeout must be within 1-255, not 256", "--max-timeout", "256");
    assertUsageError("--max-timeout must be within 1-255, not 0", "--max-timeout", "0");
    assertUsageError(
        "--max-transfers-per-client must be within 1-8, not 9",
        "--max-transfers",
        "8",
        "--max-transfers-per-client",
        "9");
    assertUsageError(
        "--first-ack-timeout must be at least 3, not 2",
        "--timeout",
        "3",
        "--first-ack-timeout",
        "2");
    assertNotEquals(
        0,
        new CommandLine(new TftpCommand())
            .setErr(new PrintWriter(new StringWriter()))
            .execute("--root", root.resolve("missing").toString(), "--listen", "127.0.0.1:0"));
  }
}
