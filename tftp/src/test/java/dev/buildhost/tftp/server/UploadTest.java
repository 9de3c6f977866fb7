package dev.buildhost.tftp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.tftp.testing.FaultyClient;
import dev.buildhost.tftp.testing.ServerFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
  @TempDir Path root;

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
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true));
        FaultyClient c = f.client()) {
      c.vanishAfterBlocks = 3;
      c.upload("result", "octet", Map.of(), random(5000, 1));
      assertTrue(
          names().stream().anyMatch(n -> n.endsWith(".tftp-part")),
          "in progress: a hidden temporary file");
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
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).quotaBytes(5000));
        FaultyClient c = f.client()) {
      FaultyClient.Result r = c.upload("big", "octet", Map.of(), random(4000, 2));
      assertEquals(3, r.error().errorCode(), r.error().errorMessage());
      assertTrue(r.error().errorMessage().contains("quota"));
      f.awaitIdle();
      assertEquals(List.of("existing"), names());
      // replacing a file counts only the difference
      FaultyClient.Result ok =
          c.upload("existing", "octet", Map.of("tsize", "4000"), random(4000, 3));
      assertTrue(ok.ok());
    }
    assertArrayEquals(random(4000, 3), Files.readAllBytes(root.resolve("existing")));
  }

  @Test
  void anUploadThatFinishesWhileAnotherRunsCountsAgainstTheQuota() throws Exception {
    try (ServerFixture f =
            new ServerFixture(
                root, b -> b.writable(true).quotaBytes(10_000).timeout(Duration.ofSeconds(1)));
        FaultyClient second = f.client()) {
      // the second upload is accepted while the root is empty; the first one then stores 6000 bytes
      second.onAccepted =
          () -> {
            try (FaultyClient first = f.client()) {
              assertTrue(first.upload("first", "octet", Map.of(), random(6000, 10)).ok());
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          };
      FaultyClient.Result r = second.upload("second", "octet", Map.of(), random(6000, 11));
      assertFalse(r.ok(), "6000 + 6000 bytes were stored under a quota of 10000");
      assertEquals(3, r.error().errorCode(), r.error().errorMessage());
      assertTrue(
          r.error().errorMessage().contains("quota of 10000 bytes"), r.error().errorMessage());
      f.awaitIdle();
      assertEquals(List.of("first"), names());
      FaultyClient.Result rest = second.upload("rest", "octet", Map.of(), random(4000, 12));
      assertTrue(rest.ok(), () -> "what is left still fits: " + rest.error().errorMessage());
      assertEquals(3, second.upload("more", "octet", Map.of(), random(1, 13)).error().errorCode());
    }
  }

  @Test
  void theQuotaHoldsExactlyOverManyThousandFiles() throws Exception {
    for (int folder = 0; folder < 50; folder++) {
      Path dir = Files.createDirectories(root.resolve("d" + folder));
      for (int i = 0; i < 100; i++) {
        Files.write(dir.resolve("f" + i), new byte[10]);
      }
    }
    // 5000 files of 10 bytes: 50,000 bytes stored; room for 10,000 more
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).quotaBytes(60_000));
        FaultyClient c = f.client()) {
      for (int i = 0; i < 9; i++) {
        assertTrue(c.upload("d" + i + "/new", "octet", Map.of(), random(1000, i)).ok());
      }
      assertEquals(
          3,
          c.upload("over", "octet", Map.of(), random(1001, 20)).error().errorCode(),
          "60,001 bytes");
      assertEquals(
          3,
          c.upload("over", "octet", Map.of("tsize", "1001"), random(1001, 20)).error().errorCode());
      FaultyClient.Result exact = c.upload("exact", "octet", Map.of(), random(1000, 21));
      assertTrue(exact.ok(), () -> "exactly 60,000 bytes: " + exact.error().errorMessage());
      // replacing a file counts the difference: 10 bytes for 10 fit, 11 do not
      assertTrue(c.upload("d7/f7", "octet", Map.of(), random(10, 22)).ok());
      assertEquals(3, c.upload("d7/f8", "octet", Map.of(), random(11, 23)).error().errorCode());
      assertTrue(
          c.upload("exact", "octet", Map.of(), random(990, 24)).ok(), "smaller now: 59,990 bytes");
      assertTrue(
          c.upload("d7/f8", "octet", Map.of(), random(20, 25)).ok(),
          "the 10 bytes freed are usable");
      f.awaitIdle();
    }
    assertFalse(Files.exists(root.resolve("over")));
    assertArrayEquals(random(20, 25), Files.readAllBytes(root.resolve("d7/f8")));
  }

  @Test
  void aServerCountingOnlyItsUploadsLeavesTheHostsFilesOutOfTheQuota() throws Exception {
    // An instance's folder: the host put a 4000-byte task there before the server started.
    Files.write(root.resolve("task.manifest"), random(4000, 40));
    try (ServerFixture f =
            new ServerFixture(
                root, b -> b.writable(true).quotaBytes(5000).quotaCountsExistingFiles(false));
        FaultyClient c = f.client()) {
      // ...and one more while it runs (the API's copy-to).
      Files.write(root.resolve("input.bin"), random(3000, 41));
      FaultyClient.Result whole = c.upload("result", "octet", Map.of(), random(5000, 42));
      assertTrue(whole.ok(), () -> "the whole quota is the guest's: " + whole.error());
      assertEquals(3, c.upload("more", "octet", Map.of(), random(1, 43)).error().errorCode());
      // The guest replaces the host's task: only its own 1000 bytes would count, over the quota.
      assertEquals(
          3, c.upload("task.manifest", "octet", Map.of(), random(1000, 44)).error().errorCode());
      // Replacing its own upload counts the difference.
      assertTrue(c.upload("result", "octet", Map.of(), random(4000, 45)).ok());
      assertTrue(c.upload("task.manifest", "octet", Map.of(), random(1000, 46)).ok());
      assertEquals(3, c.upload("more", "octet", Map.of(), random(1, 47)).error().errorCode());
      f.awaitIdle();
    }
    assertArrayEquals(random(1000, 46), Files.readAllBytes(root.resolve("task.manifest")));
    assertArrayEquals(random(3000, 41), Files.readAllBytes(root.resolve("input.bin")));
    assertFalse(Files.exists(root.resolve("more")));
  }

  @Test
  void byDefaultTheFilesInTheRootAtStartCountAgainstTheQuota() throws Exception {
    Files.write(root.resolve("old"), random(4000, 50));
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).quotaBytes(5000));
        FaultyClient c = f.client()) {
      assertEquals(3, c.upload("new", "octet", Map.of(), random(1001, 51)).error().errorCode());
      assertTrue(c.upload("new", "octet", Map.of(), random(1000, 52)).ok());
      assertTrue(c.upload("old", "octet", Map.of(), random(10, 53)).ok(), "its 4000 bytes freed");
      assertTrue(c.upload("third", "octet", Map.of(), random(3990, 54)).ok());
      f.awaitIdle();
    }
  }

  @Test
  void failedUploadsLeaveTheCountAsItWas() throws Exception {
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true).quotaBytes(5000));
        FaultyClient c = f.client()) {
      try (FaultyClient vanishing = f.client()) {
        vanishing.vanishAfterBlocks =
            3; // its temporary file holds 1536 bytes until the server gives up
        vanishing.upload("vanished", "octet", Map.of(), random(4000, 30));
        f.awaitEvent(TransferEvent.Kind.FAILED, "vanished");
        f.awaitIdle();
      }
      assertEquals(3, c.upload("too-big", "octet", Map.of(), random(6000, 31)).error().errorCode());
      f.awaitIdle();
      assertEquals(List.of(), names());
      assertTrue(
          c.upload("whole", "octet", Map.of(), random(5000, 32)).ok(), "the whole quota is free");
    }
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
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true));
        FaultyClient c = f.client()) {
      assertTrue(c.upload("f", "octet", Map.of(), random(10, 6)).ok());
    }
    assertArrayEquals(random(10, 6), Files.readAllBytes(root.resolve("f")));
  }

  @Test
  void uploadIntoSubfolderAndEvents() throws Exception {
    Files.createDirectories(root.resolve("logs"));
    try (ServerFixture f = new ServerFixture(root, b -> b.writable(true));
        FaultyClient c = f.client()) {
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
        Future<FaultyClient.Result> ra =
            pool.submit(
                () -> {
                  try (FaultyClient c = f.client()) {
                    return c.upload("same", "octet", Map.of(), a);
                  }
                });
        Future<FaultyClient.Result> rb =
            pool.submit(
                () -> {
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
    assertTrue(
        java.util.Arrays.equals(a, stored) || java.util.Arrays.equals(b, stored),
        "one whole upload won");
    assertEquals(List.of("same"), names());
  }
}
