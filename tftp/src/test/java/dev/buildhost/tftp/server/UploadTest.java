package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writable roots: atomic visibility, quota, size cap, overwrite policy, concurrency. */
class UploadTest {
  @TempDir
  Path root;

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private List<String> names() throws IOException {
    try (Stream<Path> files = Files.list(root)) {
      return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  @Test
  void interruptedUploadLeavesNothing() throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true)); FaultyClient c = f.client()) {
      c.vanishAfterBlocks = 3;
      c.upload("result", "octet", Map.of(), random(5000, 1));
      assertTrue(names().stream().anyMatch(n -> n.endsWith(".tftp-part")), "in progress: a hidden temporary file");
      TransferEvent failed = f.awaitEvent(TransferEvent.Kind.FAILED, "result");
      assertEquals(3 * 512, failed.bytes());
      f.awaitIdle();
      assertEquals(List.of(), names());
    }
  }

  @Test
  void closingTheServerMidUploadLeavesNothing() throws Exception {
    ServerFixture f = new ServerFixture(root, b -> b.writable(true));
    try (FaultyClient c = f.client()) {
      c.vanishAfterBlocks = 2;
      c.upload("result", "octet", Map.of(), random(5000, 1));
      f.close();
      assertEquals(List.of(), names());
      assertEquals(0, f.server.activeTransfers());
    }
  }

  @Test
  void quotaExceededDuringUploadIsDiskFull() throws Exception {
    Files.write(root.resolve("existing"), new byte[3000]);
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).quotaBytes(5000)); FaultyClient c = f.client()) {
      FaultyClient.Result r = c.upload("big", "octet", Map.of(), random(4000, 2));
      assertEquals(3, r.error().errorCode(), r.error().errorMessage());
      assertTrue(r.error().errorMessage().contains("quota"));
      f.awaitIdle();
      assertEquals(List.of("existing"), names());
      // replacing a file counts only the difference
      FaultyClient.Result ok = c.upload("existing", "octet", Map.of("tsize", "4000"), random(4000, 3));
      assertTrue(ok.ok());
    }
    assertArrayEquals(random(4000, 3), Files.readAllBytes(root.resolve("existing")));
  }

  @Test
  void maximumFileSizeWithoutTsize() throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).maxFileSizeBytes(1000));
         FaultyClient c = f.client()) {
      FaultyClient.Result r = c.upload("big", "octet", Map.of("blksize", "300"), random(1001, 4));
      assertEquals(3, r.error().errorCode());
      f.awaitIdle();
      assertEquals(List.of(), names());
      assertTrue(c.upload("fits", "octet", Map.of("blksize", "300"), random(1000, 4)).ok());
    }
  }

  @Test
  void overwritePolicy() throws Exception {
    Files.writeString(root.resolve("f"), "old");
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).allowOverwrite(false));
         FaultyClient c = f.client()) {
      assertEquals(6, c.upload("f", "octet", Map.of(), random(10, 5)).error().errorCode());
      assertEquals("old", Files.readString(root.resolve("f")));
      assertTrue(c.upload("g", "octet", Map.of(), random(10, 5)).ok());
    }
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true)); FaultyClient c = f.client()) {
      assertTrue(c.upload("f", "octet", Map.of(), random(10, 6)).ok());
    }
    assertArrayEquals(random(10, 6), Files.readAllBytes(root.resolve("f")));
  }

  @Test
  void uploadIntoSubfolderAndEvents() throws Exception {
    Files.createDirectories(root.resolve("logs"));
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true)); FaultyClient c = f.client()) {
      assertTrue(c.upload("logs/build.log", "octet", Map.of(), random(2000, 7)).ok());
      TransferEvent done = f.awaitEvent(TransferEvent.Kind.COMPLETED, "logs/build.log");
      assertTrue(done.upload());
      assertEquals(2000, done.bytes());
      assertEquals(TransferEvent.Kind.REQUESTED, f.events.get(0).kind());
      assertEquals(c.upload("nodir/x", "octet", Map.of(), new byte[1]).error().errorCode(), 2);
    }
    assertArrayEquals(random(2000, 7), Files.readAllBytes(root.resolve("logs/build.log")));
  }

  @Test
  void concurrentUploadsOfTheSameNameNeverMix() throws Exception {
    byte[] a = random(512 * 40, 8);
    byte[] b = random(512 * 40, 9);
    try (ServerFixture f = new ServerFixture(root, builder -> builder.writable(true))) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<FaultyClient.Result> ra = pool.submit(() -> {
          try (FaultyClient c = f.client()) {
            return c.upload("same", "octet", Map.of(), a);
          }
        });
        Future<FaultyClient.Result> rb = pool.submit(() -> {
          try (FaultyClient c = f.client()) {
            return c.upload("same", "octet", Map.of(), b);
          }
        });
        assertTrue(ra.get().ok());
        assertTrue(rb.get().ok());
      } finally {
        pool.shutdownNow();
      }
      f.awaitIdle();
    }
    byte[] stored = Files.readAllBytes(root.resolve("same"));
    assertTrue(java.util.Arrays.equals(a, stored) || java.util.Arrays.equals(b, stored), "one whole upload won");
    assertEquals(List.of("same"), names());
  }
}
