package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.path.SafePaths;
import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hostile-input catalogue of TESTING.md: each case gets an ERROR packet, nothing is written
 * where it does not belong, and the server keeps serving (checked after every case).
 */
class HostileInputTest {
  @TempDir Path dir;
  Path root;
  ServerFixture fixture;
  final byte[] content = "the content".getBytes(StandardCharsets.US_ASCII);

  @BeforeEach
  void start() throws IOException {
    root = Files.createDirectories(dir.resolve("tftp/instance-a"));
    Files.createDirectories(dir.resolve("tftp/instance-b"));
    Files.write(root.resolve("file"), content);
    Files.writeString(dir.resolve("secret"), "secret");
    Files.createSymbolicLink(root.resolve("link-out"), dir.resolve("secret"));
    fixture =
        new ServerFixture(root, b -> b.writable(true).quotaBytes(10_000).maxFileSizeBytes(5_000));
  }

  @AfterEach
  void stillServing() throws Exception {
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.download("file", "octet", Map.of());
      assertTrue(r.ok(), "the server still serves");
      assertArrayEquals(content, r.data());
    }
    assertEquals("secret", Files.readString(dir.resolve("secret")));
    try (Stream<Path> files = Files.list(dir.resolve("tftp/instance-b"))) {
      assertEquals(0, files.count(), "nothing written into another instance's folder");
    }
    try (Stream<Path> files = Files.walk(root)) {
      assertFalse(
          files.anyMatch(p -> p.getFileName().toString().endsWith(".tftp-part")),
          "no temporary files left");
    }
    fixture.close();
  }

  private FaultyClient.Packet exchange(byte[] packet) throws IOException {
    try (FaultyClient c = fixture.client()) {
      c.sendRaw(packet);
      return c.receive(Duration.ofSeconds(3));
    }
  }

  private static void assertError(int code, FaultyClient.Packet p) {
    assertNotNull(p, "an answer");
    assertEquals(FaultyClient.ERROR, p.opcode(), "an ERROR packet");
    assertEquals(code, p.errorCode(), p.errorMessage());
    assertFalse(p.errorMessage().isEmpty());
  }

  private static byte[] bytes(int opcode, String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(opcode >> 8);
    out.write(opcode);
    out.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
    return out.toByteArray();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3})
  void tinyPackets(int length) throws Exception {
    byte[] packet = new byte[length];
    if (length >= 2) {
      packet[1] = 1;
    }
    assertError(4, exchange(packet));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 3, 4, 6, 7, 255, 0xffff})
  void unknownOrMisplacedOpcodes(int opcode) throws Exception {
    assertError(4, exchange(bytes(opcode, "\0\1data")));
  }

  @Test
  void errorPacketsToTheServerPortAreNotAnswered() throws Exception {
    assertNull(exchange(bytes(5, "\0\0oops\0")));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "file", // no NUL after the name
        "file\u0000", // no mode
        "file\u0000octet", // mode not terminated
        "file\u0000mail\u0000", // mail mode
        "file\u0000MAIL\u0000",
        "file\u0000binary\u0000",
        "fi\u0000le\u0000octet\u0000", // NUL inside the name
        "file\u0000octet\u0000blksize", // option without value
      })
  void malformedRequests(String text) throws Exception {
    assertError(4, exchange(bytes(1, text)));
    assertError(4, exchange(bytes(2, text)));
  }

  @Test
  void mixedCaseModesAreAccepted() throws Exception {
    try (FaultyClient c = fixture.client()) {
      assertArrayEquals(content, c.download("file", "OcTeT", Map.of()).data());
    }
  }

  @Test
  void hugeNamesAndLongRequests() throws Exception {
    assertError(4, exchange(bytes(1, "a".repeat(65000) + "\0octet\0")));
    assertError(4, exchange(bytes(1, "a".repeat(600) + "\0octet\0")));
    assertError(4, exchange(bytes(1, "file\0octet\0" + "x\0y\0".repeat(200))));
  }

  static Stream<Arguments> badOptions() {
    return Stream.of(
            "blksize=7",
            "blksize=0",
            "blksize=-1",
            "blksize=65465",
            "blksize=999999999999999999999",
            "blksize=abc",
            "timeout=0",
            "timeout=256",
            "windowsize=0",
            "windowsize=99999999")
        .map(s -> Arguments.of(s.split("=")[0], s.split("=")[1]));
  }

  @ParameterizedTest
  @MethodSource("badOptions")
  void invalidOptionValuesAreRefused(String name, String value) throws Exception {
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.download("file", "octet", Map.of(name, value));
      assertError(8, r.error());
    }
  }

  @Test
  void unknownDuplicatedOddCaseAndOverCapOptions() throws Exception {
    Map<String, String> options = new LinkedHashMap<>();
    options.put("BlKsIzE", "1024");
    options.put("blksize", "16");
    options.put("x-unknown", "1");
    options.put("WINDOWSIZE", "65535");
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.download("file", "octet", options);
      assertTrue(r.ok());
      assertEquals(
          Map.of("blksize", "1024", "windowsize", "64"),
          r.oack(),
          "first duplicate wins, caps apply");
      assertArrayEquals(content, r.data());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"20000", "6000"})
  void writeTsizeOverQuotaOrMaximumIsRefusedUpFront(String tsize) throws Exception {
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r = c.upload("big", "octet", Map.of("tsize", tsize), new byte[10]);
      assertError(3, r.error());
    }
    assertFalse(Files.exists(root.resolve("big")));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "../secret",
        "..\\secret",
        "....//secret",
        "...",
        "//etc/passwd",
        "//secret",
        "/../secret",
        "/../instance-b/x",
        "/",
        "a//file",
        "%2e%2e/secret",
        "%2e%2e%2fsecret",
        "fi\u0001le",
        "fi\u001ble",
        "link-out",
        "/link-out",
        "../instance-b/x",
        ".file.0.tftp-part"
      })
  void hostilePaths(String name) throws Exception {
    try (FaultyClient c = fixture.client()) {
      assertError(2, c.download(name, "octet", Map.of()).error());
    }
    try (FaultyClient c = fixture.client()) {
      assertError(
          2, c.upload(name, "octet", Map.of(), "evil".getBytes(StandardCharsets.US_ASCII)).error());
    }
    TransferEvent failed =
        fixture.awaitEvent(TransferEvent.Kind.FAILED, SafePaths.relativeName(name));
    assertNotNull(failed.reason());
  }

  @Test
  void absolutePathsAreTakenRelativeToTheRoot() throws Exception {
    try (FaultyClient c = fixture.client()) {
      assertArrayEquals(content, c.download("/file", "octet", Map.of()).data());
      assertError(
          1, c.download("/secret", "octet", Map.of()).error()); // not the file next to the root
      assertError(1, c.download("/etc/passwd", "octet", Map.of()).error());
      assertTrue(c.upload("/uploaded", "octet", Map.of(), content).ok());
      assertError(2, c.upload("/etc/passwd", "octet", Map.of(), content).error());
    }
    assertArrayEquals(content, Files.readAllBytes(root.resolve("uploaded")));
    TransferEvent stored = fixture.awaitEvent(TransferEvent.Kind.COMPLETED, "uploaded");
    assertTrue(stored.upload(), "events name the file relative to the root");
  }

  @Test
  void aTimeoutAboveTheCapIsLeftOutOfTheOack() throws Exception {
    try (FaultyClient c = fixture.client()) {
      FaultyClient.Result r =
          c.download("file", "octet", Map.of("timeout", "255", "blksize", "1024"));
      assertTrue(r.ok());
      assertEquals(
          Map.of("blksize", "1024"), r.oack(), "timeout=255 ignored: the server's own applies");
      assertEquals(
          Map.of("timeout", "10"), c.download("file", "octet", Map.of("timeout", "10")).oack());
    }
  }

  @Test
  void writeRequestOnTheReadOnlyServer() throws Exception {
    try (ServerFixture readOnly = new ServerFixture(dir.resolve("tftp"), b -> {});
        FaultyClient c = readOnly.client()) {
      assertError(2, c.upload("instance-a/new", "octet", Map.of(), content).error());
      assertArrayEquals(content, c.download("instance-a/file", "octet", Map.of()).data());
    }
    assertFalse(Files.exists(root.resolve("new")));
  }

  @Test
  void missingFile() throws Exception {
    try (FaultyClient c = fixture.client()) {
      assertError(1, c.download("nothing-here", "octet", Map.of()).error());
    }
  }
}
