package dev.buildhost.tftp.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The standalone command as a process: first line, a log line per transfer, clean stop on signals. */
class TftpCommandIT {
  @TempDir
  Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"TERM", "INT"})
  void servesLogsAndStopsOnSignal(String signal) throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.writeString(root.resolve("task.manifest"), "command: true\n");
    Path log = dir.resolve("stderr.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "dev.buildhost.tftp.cli.TftpCommand", "--root", root.toString(), "--listen", "127.0.0.1:0", "--writable")
        .redirectError(log.toFile()).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String first = out.readLine();
      Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)").matcher(first == null ? "" : first);
      assertTrue(m.matches(), "first line: " + first);
      int port = Integer.parseInt(m.group(1));
      assertTrue(port > 0);
      try (FaultyClient c = new FaultyClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertArrayEquals(Files.readAllBytes(root.resolve("task.manifest")),
            c.download("task.manifest", "octet", Map.of()).data());
        assertTrue(c.upload("result.manifest", "octet", Map.of(), "status: success\n".getBytes()).ok());
        assertEquals(2, c.download("../escape", "octet", Map.of()).error().errorCode());
      }
      new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(20, TimeUnit.SECONDS), "stops on SIG" + signal);
      List<String> lines = Files.readAllLines(log);
      assertEquals(1, lines.stream().filter(l -> l.contains("RRQ") && l.contains("task.manifest")
          && l.contains("completed")).count(), String.join("\n", lines));
      assertEquals(1, lines.stream().filter(l -> l.contains("WRQ") && l.contains("result.manifest")
          && l.contains("completed")).count(), String.join("\n", lines));
      assertEquals(1, lines.stream().filter(l -> l.contains("escape") && l.contains("failed")).count());
      assertTrue(lines.stream().anyMatch(l -> l.contains("stopped")), String.join("\n", lines));
      assertEquals("status: success\n", Files.readString(root.resolve("result.manifest")));
      try (DatagramSocket again = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertEquals(port, again.getLocalPort(), "the port is free after the stop");
      }
    } finally {
      p.destroyForcibly();
    }
  }
}
