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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WatcherTest {
  FileServer server;
  Watcher watcher = new Watcher(new HttpFetcher(Duration.ofSeconds(2), Duration.ofSeconds(2)));

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
    server.put("/big", new byte[(int) Watcher.MAX_BUILDID_BYTES + 1]);
    Reading big = watcher.buildId(server.url("/big"));
    assertFalse(big.known());
    assertTrue(big.error().contains("more than 65536 bytes"), big.error());
    server.put("/bin", new byte[] {(byte) 0xff, (byte) 0xfe, 'x'});
    Reading bin = watcher.buildId(server.url("/bin"));
    assertTrue(bin.error().contains("is not text"), bin.error());
    Reading missing = watcher.buildId(server.url("/nothing"));
    assertTrue(missing.error().contains("HTTP 404"), missing.error());
  }

  @Test
  void theToolchainIdIsTheChecksumFilesSha256() throws Exception {
    String sums = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n";
    server.put("/t.sha256", sums);
    Reading r = watcher.toolchainId(server.url("/t.sha256"));
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(sums.getBytes(StandardCharsets.UTF_8))), r.value());
    server.put("/t.sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  other\n");
    Reading changed = watcher.toolchainId(server.url("/t.sha256"));
    assertFalse(changed.value().equals(r.value()));
  }
}
