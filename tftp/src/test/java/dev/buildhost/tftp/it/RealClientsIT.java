package dev.buildhost.tftp.it;

import static dev.buildhost.tftp.it.ExternalTools.require;
import static dev.buildhost.tftp.it.ExternalTools.run;
import static dev.buildhost.tftp.it.ExternalTools.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.server.TransferEvent;
import dev.buildhost.tftp.testing.Flood;
import dev.buildhost.tftp.testing.ServerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Downloads and uploads with tftp-hpa, busybox, curl and atftp against a real server. */
class RealClientsIT {
  static final String TFTP_HPA = "/usr/bin/tftp";
  static final String BUSYBOX = "/usr/bin/busybox";
  static final String CURL = "/usr/bin/curl";
  static final String ATFTP = "/usr/bin/atftp";

  @TempDir Path dir;
  Path root;
  Path local;
  TftpServer server;
  String port;
  final List<TransferEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    root = Files.createDirectories(dir.resolve("root"));
    local = Files.createDirectories(dir.resolve("local"));
    write(root.resolve("random.bin"), 3 * 1024 * 1024 + 17, 1);
    write(root.resolve("exact.bin"), 1468 * 512, 2); // a whole number of blocks for 512 and 1468
    write(root.resolve("empty.bin"), 0, 3);
    server = TftpServer.builder(root).port(0).writable(true).listener(events::add).build().start();
    port = Integer.toString(server.port());
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    try (Stream<Path> files = Files.walk(root)) {
      assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tftp-part")));
    }
  }

  private static void write(Path file, int size, long seed) throws Exception {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    Files.write(file, b);
  }

  private void assertSame(Path expected, Path actual) throws Exception {
    assertTrue(Files.exists(actual), actual + " exists");
    assertEquals(sha256(expected), sha256(actual), actual.toString());
  }

  /** curl downloads {@code remote} with this block size into {@code local/localName}. */
  private void curlGet(String blockSize, String remote, String localName) throws Exception {
    ok(run(local, List.of(CURL, "-sS", "--tftp-blksize", blockSize, "-o", localName, url(remote))));
  }

  /** curl uploads {@code local/localName} with this block size as {@code remote}. */
  private void curlPut(String blockSize, String localName, String remote) throws Exception {
    ok(run(local, List.of(CURL, "-sS", "--tftp-blksize", blockSize, "-T", localName, url(remote))));
  }

  private String url(String remote) {
    return "tftp://127.0.0.1:" + port + "/" + remote;
  }

  private void ok(ExternalTools.Outcome outcome) {
    assertEquals(0, outcome.exitCode(), outcome.output());
  }

  @ParameterizedTest
  @ValueSource(strings = {"random.bin", "exact.bin", "empty.bin"})
  void tftpHpa(String name) throws Exception {
    require(TFTP_HPA);
    ok(run(local, List.of(TFTP_HPA, "-m", "binary", "127.0.0.1", port, "-c", "get", name, "got")));
    assertSame(root.resolve(name), local.resolve("got"));
    ok(
        run(
            local,
            List.of(
                TFTP_HPA, "-m", "binary", "127.0.0.1", port, "-c", "put", "got", "up-" + name)));
    awaitCompleted("up-" + name);
    assertSame(root.resolve(name), root.resolve("up-" + name));
  }

  @Test
  void tftpHpaNetascii() throws Exception {
    require(TFTP_HPA);
    Files.writeString(root.resolve("text.txt"), "line one\nline two\r\nlast\n".repeat(200));
    ok(
        run(
            local,
            List.of(
                TFTP_HPA,
                "-m",
                "netascii",
                "127.0.0.1",
                port,
                "-c",
                "get",
                "text.txt",
                "text.txt")));
    assertSame(root.resolve("text.txt"), local.resolve("text.txt"));
    ok(
        run(
            local,
            List.of(
                TFTP_HPA,
                "-m",
                "netascii",
                "127.0.0.1",
                port,
                "-c",
                "put",
                "text.txt",
                "back.txt")));
    awaitCompleted("back.txt");
    assertSame(root.resolve("text.txt"), root.resolve("back.txt"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"512", "1468", "8192"})
  void busybox(String blockSize) throws Exception {
    require(BUSYBOX);
    for (String name : List.of("random.bin", "exact.bin", "empty.bin")) {
      Files.deleteIfExists(local.resolve(name));
      ok(
          run(
              local,
              List.of(
                  BUSYBOX,
                  "tftp",
                  "-b",
                  blockSize,
                  "-g",
                  "-r",
                  name,
                  "-l",
                  name,
                  "127.0.0.1",
                  port)));
      assertSame(root.resolve(name), local.resolve(name));
      ok(
          run(
              local,
              List.of(
                  BUSYBOX,
                  "tftp",
                  "-b",
                  blockSize,
                  "-p",
                  "-l",
                  name,
                  "-r",
                  "bb-" + name,
                  "127.0.0.1",
                  port)));
      awaitCompleted("bb-" + name);
      assertSame(root.resolve(name), root.resolve("bb-" + name));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"512", "1468", "65464"})
  void curl(String blockSize) throws Exception {
    require(CURL);
    for (String name : List.of("random.bin", "exact.bin", "empty.bin")) {
      curlGet(blockSize, name, "c-" + name);
      assertSame(root.resolve(name), local.resolve("c-" + name));
      curlPut(blockSize, "c-" + name, "curl-" + name);
      awaitCompleted("curl-" + name);
      assertSame(root.resolve(name), root.resolve("curl-" + name));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "16", "64"})
  void atftpWindowed(String windowSize) throws Exception {
    require(ATFTP);
    for (String name : List.of("random.bin", "exact.bin", "empty.bin")) {
      ok(
          run(
              local,
              List.of(
                  ATFTP,
                  "--option",
                  "windowsize " + windowSize,
                  "--option",
                  "blksize 1468",
                  "-g",
                  "-r",
                  name,
                  "-l",
                  "a-" + name,
                  "127.0.0.1",
                  port)));
      assertSame(root.resolve(name), local.resolve("a-" + name));
      ok(
          run(
              local,
              List.of(
                  ATFTP,
                  "--option",
                  "windowsize " + windowSize,
                  "--option",
                  "blksize 1468",
                  "-p",
                  "-l",
                  "a-" + name,
                  "-r",
                  "atftp-" + name,
                  "127.0.0.1",
                  port)));
      awaitCompleted("atftp-" + name);
      assertSame(root.resolve(name), root.resolve("atftp-" + name));
    }
  }

  @Test
  void blockNumberRolloverWithRealClients() throws Exception {
    require(CURL);
    require(ATFTP);
    write(root.resolve("huge.bin"), 512 * 70_000 + 100, 4); // 70001 blocks of 512 bytes
    curlGet("512", "huge.bin", "curl-huge");
    assertSame(root.resolve("huge.bin"), local.resolve("curl-huge"));
    ok(
        run(
            local,
            List.of(
                ATFTP,
                "--option",
                "windowsize 64",
                "--option",
                "blksize 512",
                "-g",
                "-r",
                "huge.bin",
                "-l",
                "atftp-huge",
                "127.0.0.1",
                port)));
    assertSame(root.resolve("huge.bin"), local.resolve("atftp-huge"));
    curlPut("512", "curl-huge", "huge-up.bin");
    awaitCompleted("huge-up.bin");
    assertSame(root.resolve("huge.bin"), root.resolve("huge-up.bin"));
  }

  @Test
  void errorsReachTheClients() throws Exception {
    require(CURL);
    require(BUSYBOX);
    ExternalTools.Outcome missing =
        run(local, List.of(CURL, "-sS", "-o", "x", "tftp://127.0.0.1:" + port + "/nope"));
    assertEquals(
        68, missing.exitCode(), "curl's exit code for TFTP file not found: " + missing.output());
    ExternalTools.Outcome escape =
        run(
            local,
            List.of(BUSYBOX, "tftp", "-g", "-r", "../etc/passwd", "-l", "p", "127.0.0.1", port));
    assertNotEquals(0, escape.exitCode());
    try (TftpServer readOnly = TftpServer.builder(root).port(0).build().start()) {
      ExternalTools.Outcome refused =
          run(
              local,
              List.of(
                  BUSYBOX,
                  "tftp",
                  "-p",
                  "-l",
                  "p",
                  "-r",
                  "x",
                  "127.0.0.1",
                  Integer.toString(readOnly.port())));
      assertNotEquals(0, refused.exitCode());
    }
    assertFalse(Files.exists(root.resolve("x")));
  }

  @Test
  void absolutePathsNameFilesInTheRoot() throws Exception {
    require(TFTP_HPA);
    require(BUSYBOX);
    require(CURL);
    require(ATFTP);
    Files.writeString(dir.resolve("secret"), "next to the root");
    ok(
        run(
            local,
            List.of(
                TFTP_HPA,
                "-m",
                "binary",
                "127.0.0.1",
                port,
                "-c",
                "get",
                "/random.bin",
                "hpa.bin")));
    assertSame(root.resolve("random.bin"), local.resolve("hpa.bin"));
    ok(
        run(
            local,
            List.of(CURL, "-sS", "-o", "curl.bin", "tftp://127.0.0.1:" + port + "/%2Frandom.bin")));
    assertSame(root.resolve("random.bin"), local.resolve("curl.bin"));
    ok(run(local, List.of(ATFTP, "-g", "-r", "/exact.bin", "-l", "atftp.bin", "127.0.0.1", port)));
    assertSame(root.resolve("exact.bin"), local.resolve("atftp.bin"));
    ok(
        run(
            local,
            List.of(
                TFTP_HPA, "-m", "binary", "127.0.0.1", port, "-c", "put", "hpa.bin", "/up.bin")));
    awaitCompleted("up.bin");
    assertSame(root.resolve("random.bin"), root.resolve("up.bin"));
    // still inside the root: /secret is the root's (missing) secret, /../secret is refused
    assertEquals(
        68,
        run(local, List.of(CURL, "-sS", "-o", "s1", "tftp://127.0.0.1:" + port + "/%2Fsecret"))
            .exitCode());
    assertNotEquals(
        0,
        run(local, List.of(CURL, "-sS", "-o", "s2", "tftp://127.0.0.1:" + port + "/%2F..%2Fsecret"))
            .exitCode());
    assertNotEquals(
        0,
        run(
                local,
                List.of(BUSYBOX, "tftp", "-g", "-r", "//../secret", "-l", "s3", "127.0.0.1", port))
            .exitCode());
    for (String stolen : List.of("s1", "s2", "s3")) {
      assertFalse(
          Files.exists(local.resolve(stolen)) && Files.size(local.resolve(stolen)) > 0, stolen);
    }
  }

  @Test
  // "try": the flood runs for the body's length; the body never needs to name it.
  @SuppressWarnings("try")
  void realClientsAreServedWhileAFloodRuns() throws Exception {
    require(CURL);
    require(TFTP_HPA);
    try (Flood flood =
        new Flood(server.localAddress(), "random.bin", true, Flood.loopbacks(2, 4))
            .awaitSent(1000)) {
      curlGet("1468", "random.bin", "flood.bin");
      assertSame(root.resolve("random.bin"), local.resolve("flood.bin"));
      ok(
          run(
              local,
              List.of(
                  TFTP_HPA,
                  "-m",
                  "binary",
                  "127.0.0.1",
                  port,
                  "-c",
                  "put",
                  "flood.bin",
                  "during-flood.bin")));
      awaitCompleted("during-flood.bin");
      assertSame(root.resolve("random.bin"), root.resolve("during-flood.bin"));
    }
  }

  private void awaitCompleted(String name) {
    ServerFixture.awaitEvent(events, TransferEvent.Kind.COMPLETED, name);
  }
}
