package dev.buildhost.monitor.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.testing.FileServer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WatcherTest {
  FileServer server;
  Watcher watcher =
      new Watcher(new HttpFetcher(Duration.ofSeconds(2), Duration.ofSeconds(2)), 1 << 20);

  @BeforeEach
  void start() throws Exception {
    server = new FileServer();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void aBuildIdIsTrimmedText() {
    server.put("/id", "  buildos-42\r\n");
    assertEquals(Reading.of("buildos-42"), watcher.buildId(server.url("/id")));
  }

  @Test
  void hostileBuildIdsAreUnknown() {
    server.put("/big", new byte[(int) Watcher.MAX_BUILDID_BYTES + 1], FileServer.TEXT);
    Reading big = watcher.buildId(server.url("/big"));
    assertFalse(big.known());
    assertTrue(big.error().contains("more than 4096 bytes"), big.error());
    server.put("/bin", new byte[] {(byte) 0xff, (byte) 0xfe, 'x'}, FileServer.TEXT);
    Reading bin = watcher.buildId(server.url("/bin"));
    assertTrue(bin.error().contains("is not text"), bin.error());
    Reading missing = watcher.buildId(server.url("/nothing"));
    assertTrue(missing.error().contains("HTTP 404"), missing.error());
  }

  /** Each answer comes with 200 from a real HTTP server; none of them is a build-id. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("implausibleAnswers")
  void anAnswerThatIsNotABuildIdIsUnknownAndSaysWhy(
      String what, byte[] body, String contentType, String why) {
    server.put("/buildos-buildid", body, contentType);
    Reading r = watcher.buildId(server.url("/buildos-buildid"));
    assertFalse(r.known(), what + " was taken as a build-id: " + r.value());
    assertTrue(
        r.error().startsWith("build-id at " + server.url("/buildos-buildid") + " "), r.error());
    assertTrue(r.error().contains(why), what + ": " + r.error());
  }

  static Stream<Arguments> implausibleAnswers() {
    byte[] binary = new byte[64];
    new Random(3).nextBytes(binary);
    binary[0] = 0x01;
    binary[1] = (byte) 0xff;
    return Stream.of(
        Arguments.of(
            "a proxy's HTML error page",
            utf8(
                "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>"
                    + "</head>\n<body>upstream error</body></html>\n"),
            "text/html; charset=utf-8",
            "not as plain text"),
        Arguments.of(
            "one line of HTML served as text/plain",
            utf8("<html><body>Service unavailable</body></html>"),
            FileServer.TEXT,
            "looks like markup"),
        Arguments.of(
            "a long body",
            utf8("b".repeat(BuildIdText.MAX_CHARS + 1) + "\n"),
            FileServer.TEXT,
            "characters long; a build-id has at most " + BuildIdText.MAX_CHARS),
        Arguments.of("binary served as text", binary, FileServer.TEXT, "is not text (not UTF-8)"),
        Arguments.of(
            "a control character",
            utf8("buildos-1\u0007\n"),
            FileServer.TEXT,
            "unprintable character U+0007"),
        Arguments.of(
            "several lines",
            utf8("buildos-20261126-1\nbuildos-20261127-1\n"),
            FileServer.TEXT,
            "has 2 lines; a build-id is one line"),
        Arguments.of(
            "a wrong content type",
            utf8("buildos-20261126-1\n"),
            "application/octet-stream",
            "was served as 'application/octet-stream', not as plain text"),
        Arguments.of("JSON", utf8("{\"build\":1}"), "application/json", "not as plain text"),
        Arguments.of(
            "no content type", utf8("buildos-20261126-1\n"), null, "without a Content-Type"));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aPlainTextBuildIdWithACharsetAndBlanksIsAccepted() {
    server.put("/id", utf8("buildos 2026-11-26 ü+1\n"), "Text/Plain;charset=UTF-8");
    assertEquals(Reading.of("buildos 2026-11-26 ü+1"), watcher.buildId(server.url("/id")));
  }

  @Test
  void theToolchainIdIsTheChecksumFilesSha256() throws Exception {
    String sums = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n";
    server.put("/t.sha256", sums);
    Reading r = watcher.toolchainId(server.url("/t.sha256"), null);
    assertEquals(
        HexFormat.of()
            .formatHex(
                MessageDigest.getInstance("SHA-256").digest(sums.getBytes(StandardCharsets.UTF_8))),
        r.value());
    server.put(
        "/t.sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  other\n");
    Reading changed = watcher.toolchainId(server.url("/t.sha256"), null);
    assertFalse(changed.value().equals(r.value()));
  }
}
