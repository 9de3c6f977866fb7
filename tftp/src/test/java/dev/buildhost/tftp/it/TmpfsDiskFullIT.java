package dev.buildhost.tftp.it;

import static dev.buildhost.tftp.it.ExternalTools.require;
import static dev.buildhost.tftp.it.ExternalTools.run;
import static dev.buildhost.tftp.testing.ServerFixture.awaitIdle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.tftp.server.TftpServer;
import dev.buildhost.tftp.testing.FaultyClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writable root on a real 1 MiB tmpfs: a full file system is ERROR 3 and leaves nothing. */
class TmpfsDiskFullIT {
  @TempDir Path dir;

  private static List<String> names(Path root) throws Exception {
    try (Stream<Path> files = Files.list(root)) {
      return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  @Test
  void fullTmpfsIsDiskFull() throws Exception {
    require("/usr/bin/mount");
    require(RealClientsIT.CURL);
    Path mountPoint = Files.createDirectories(dir.resolve("tmpfs"));
    ExternalTools.Outcome mounted =
        run(dir, List.of("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.toString()));
    if (mounted.exitCode() != 0) {
      String message = "cannot mount a tmpfs (needs root): " + mounted.output();
      if (ExternalTools.onCi()) {
        fail(message);
      }
      Assumptions.assumeTrue(false, message);
    }
    try (TftpServer server =
        TftpServer.builder(mountPoint).port(0).writable(true).build().start()) {
      byte[] big = new byte[2 * 1024 * 1024];
      new Random(1).nextBytes(big);
      Path local = dir.resolve("big.bin");
      Files.write(local, big);
      // no tsize: the file system fills up during the upload
      try (FaultyClient client = new FaultyClient(server.localAddress())) {
        FaultyClient.Result r = client.upload("big.bin", "octet", Map.of("blksize", "1468"), big);
        assertEquals(3, r.error().errorCode(), r.error().errorMessage());
      }
      awaitIdle(server);
      assertEquals(List.of(), names(mountPoint), "no partial file left");
      // curl announces tsize: refused up front
      ExternalTools.Outcome curl =
          run(
              dir,
              List.of(
                  RealClientsIT.CURL,
                  "-sS",
                  "-T",
                  local.toString(),
                  "tftp://127.0.0.1:" + server.port() + "/big.bin"));
      assertTrue(curl.exitCode() != 0, curl.output());
      awaitIdle(server);
      assertEquals(List.of(), names(mountPoint), "no partial file left");
      // and a file that fits still goes through
      Files.write(local, new byte[100_000]);
      assertEquals(
          0,
          run(
                  dir,
                  List.of(
                      RealClientsIT.CURL,
                      "-sS",
                      "-T",
                      local.toString(),
                      "tftp://127.0.0.1:" + server.port() + "/small.bin"))
              .exitCode());
      assertEquals(100_000, Files.size(mountPoint.resolve("small.bin")));
    } finally {
      ExternalTools.Outcome unmounted = run(dir, List.of("umount", mountPoint.toString()));
      assertEquals(0, unmounted.exitCode(), unmounted.output());
    }
  }
}
