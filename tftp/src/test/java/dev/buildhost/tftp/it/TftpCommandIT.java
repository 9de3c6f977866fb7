package dev.buildhost.tftp.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.Flood;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The standalone command as a process: first line, a log line per transfer, clean stop on signals.
 */
class TftpCommandIT {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"TERM", "INT"})
  void servesLogsAndStopsOnSignal(String signal) throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.writeString(root.resolve("task.manifest"), "command: true\n");
    Path log = dir.resolve("stderr.log");
    Process p =
        startCommand(log, "--root", root.toString(), "--listen", "127.0.0.1:0", "--writable");
    try {
      Matcher m = firstLine(p, "listening on 127\\.0\\.0\\.1:(\\d+)");
      int port = Integer.parseInt(m.group(1));
      assertTrue(port > 0);
      try (FaultyClient c =
          new FaultyClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertArrayEquals(
            Files.readAllBytes(root.resolve("task.manifest")),
            c.download("task.manifest", "octet", Map.of()).data());
        assertTrue(
            c.upload(
                    "result.manifest",
                    "octet",
                    Map.of(),
                    "status: success\n".getBytes(StandardCharsets.UTF_8))
                .ok());
        assertEquals(2, c.download("../escape", "octet", Map.of()).error().errorCode());
      }
      // The server logs a transfer when it has ended on its side, which may come after the client
      // saw its last packet: the signal must not overtake those lines.
      Predicate<String> download =
          l -> l.contains("RRQ") && l.contains("task.manifest") && l.contains("completed");
      Predicate<String> upload =
          l -> l.contains("WRQ") && l.contains("result.manifest") && l.contains("completed");
      Predicate<String> escape = l -> l.contains("escape") && l.contains("failed");
      awaitLog(log, download);
      awaitLog(log, upload);
      awaitLog(log, escape);
      new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(20, TimeUnit.SECONDS), "stops on SIG" + signal);
      List<String> lines = Files.readAllLines(log);
      String shown = String.join("\n", lines);
      assertEquals(1, count(lines, download), shown);
      assertEquals(1, count(lines, upload), shown);
      assertEquals(1, count(lines, escape), shown);
      assertTrue(lines.stream().anyMatch(l -> l.contains("stopped")), String.join("\n", lines));
      assertEquals("status: success\n", Files.readString(root.resolve("result.manifest")));
      try (DatagramSocket again =
          new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertEquals(port, again.getLocalPort(), "the port is free after the stop");
      }
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  @SuppressWarnings("AddressSelection") // "::1" is a literal: no name is looked up
  void appliesTheLimitsGivenOnTheCommandLineOverIpv6() throws Exception {
    ExternalTools.require("/usr/bin/curl");
    Path root = Files.createDirectories(dir.resolve("root"));
    byte[] served = new byte[10_000];
    new Random(7).nextBytes(served);
    Files.write(root.resolve("served.bin"), served);
    Process p =
        startCommand(
            dir.resolve("stderr.log"),
            "--root",
            root.toString(),
            "--listen",
            "[::1]:0",
            "--writable",
            "--quota",
            "12K",
            "--max-file-size",
            "2K",
            "--max-blksize",
            "1024",
            "--max-windowsize",
            "4");
    try {
      int port = Integer.parseInt(firstLine(p, "listening on \\[::1\\]:(\\d+)").group(1));
      InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("::1"), port);
      try (FaultyClient c = new FaultyClient(server)) {
        FaultyClient.Result download =
            c.download("served.bin", "octet", Map.of("blksize", "65464", "windowsize", "64"));
        assertArrayEquals(served, download.data());
        assertEquals(
            Map.of("blksize", "1024", "windowsize", "4"),
            download.oack(),
            "options capped by the flags");

        FaultyClient.Result tooBig =
            c.upload("big.bin", "octet", Map.of("tsize", "3000"), new byte[3000]);
        assertEquals(3, tooBig.error().errorCode(), "over --max-file-size");
        assertTrue(c.upload("first.bin", "octet", Map.of(), new byte[2000]).ok());
        FaultyClient.Result overQuota = c.upload("second.bin", "octet", Map.of(), new byte[2000]);
        assertEquals(
            3, overQuota.error().errorCode(), "10000 + 2000 + 2000 bytes exceed --quota 12K");
      }
      try (Stream<Path> files = Files.list(root)) {
        assertEquals(
            List.of("first.bin", "served.bin"),
            files.map(f -> f.getFileName().toString()).sorted().toList(),
            "refused uploads leave nothing behind");
      }
      ExternalTools.Outcome curl =
          ExternalTools.run(
              dir,
              List.of("curl", "-sS", "-o", "by-curl.bin", "tftp://[::1]:" + port + "/served.bin"));
      assertEquals(0, curl.exitCode(), curl.output());
      assertArrayEquals(
          served, Files.readAllBytes(dir.resolve("by-curl.bin")), "a real client over IPv6");
    } finally {
      p.destroyForcibly().waitFor();
    }
  }

  @Test
  void appliesTheFloodLimitsGivenOnTheCommandLine() throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.write(root.resolve("f.bin"), new byte[5000]);
    Path log = dir.resolve("stderr.log");
    Process p =
        startCommand(
            log,
            "--root",
            root.toString(),
            "--listen",
            "127.0.0.1:0",
            "--max-transfers",
            "4",
            "--max-transfers-per-client",
            "2",
            "--max-timeout",
            "3",
            "--first-ack-timeout",
            "2");
    try {
      int port = Integer.parseInt(firstLine(p, "listening on 127\\.0\\.0\\.1:(\\d+)").group(1));
      InetSocketAddress server = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
      Duration patient =
          Duration.ofSeconds(3); // no retransmitted requests while the new JVM warms up
      try (FaultyClient c = new FaultyClient(server).timeout(patient)) {
        assertEquals(
            Map.of("timeout", "3"), c.download("f.bin", "octet", Map.of("timeout", "3")).oack());
      }
      try (FaultyClient c = new FaultyClient(server).timeout(patient)) {
        FaultyClient.Result r =
            c.download("f.bin", "octet", Map.of("timeout", "4", "blksize", "1024"));
        assertEquals(
            Map.of("blksize", "1024"),
            r.oack(),
            "a timeout over --max-timeout is ignored: " + c.received);
      }
      try (FaultyClient stalled = new FaultyClient(server, Flood.loopback(2));
          FaultyClient stalledToo = new FaultyClient(server, Flood.loopback(2));
          FaultyClient second = new FaultyClient(server, Flood.loopback(2)).timeout(patient);
          FaultyClient other = new FaultyClient(server).timeout(patient);
          // a port of its own: a request from the port whose transfer just ended can race the
          // server's handling of the final ACK, and be taken for a repeat of that transfer
          FaultyClient silent = new FaultyClient(server)) {
        for (FaultyClient c : List.of(stalled, stalledToo)) { // acknowledged, then stalled
          c.sendRaw(FaultyClient.request(FaultyClient.RRQ, "f.bin", "octet", Map.of()));
          FaultyClient.Packet first = c.receive(Duration.ofSeconds(5));
          assertEquals(FaultyClient.DATA, first.opcode());
          c.sendRaw(new byte[] {0, FaultyClient.ACK, 0, 1}, first.from());
          assertEquals(2, c.receive(Duration.ofSeconds(5)).block());
        }
        FaultyClient.Result refused = second.download("f.bin", "octet", Map.of());
        assertEquals(
            "too many concurrent transfers from 127.0.0.2 (2), try again later",
            refused.error().errorMessage(),
            "--max-transfers-per-client 2");
        assertArrayEquals(
            new byte[5000],
            other.download("f.bin", "octet", Map.of()).data(),
            "127.0.0.1 is served");
        silent.sendRaw(
            FaultyClient.request(FaultyClient.RRQ, "f.bin", "octet", Map.of("timeout", "3")));
        awaitLog(log, l -> l.contains("not acknowledged within 2000 ms"));
      }
    } finally {
      p.destroyForcibly().waitFor();
    }
  }

  /** Waits (bounded) until a line of the log matches. */
  private static void awaitLog(Path log, Predicate<String> line) {
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(50))
        .untilAsserted(
            () -> {
              List<String> lines = Files.readAllLines(log);
              assertTrue(lines.stream().anyMatch(line), String.join("\n", lines));
            });
  }

  private static long count(List<String> lines, Predicate<String> line) {
    return lines.stream().filter(line).count();
  }

  private static Process startCommand(Path log, String... arguments) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command =
        new ArrayList<>(
            List.of(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                "dev.buildhost.tftp.cli.TftpCommand"));
    command.addAll(List.of(arguments));
    return new ProcessBuilder(command).redirectError(log.toFile()).start();
  }

  /** Reads the command's first line and checks it against {@code pattern}. */
  private static Matcher firstLine(Process p, String pattern) throws IOException {
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    Matcher m = Pattern.compile(pattern).matcher(first == null ? "" : first);
    assertTrue(m.matches(), "first line: " + first);
    return m;
  }
}
