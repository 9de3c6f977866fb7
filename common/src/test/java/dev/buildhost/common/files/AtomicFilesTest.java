package dev.buildhost.common.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

  @TempDir Path dir;

  @Test
  void theTargetIsReplacedAndNoTemporaryFileStays() throws IOException {
    Path target = dir.resolve("sub/state.json");
    AtomicFiles.write(target, "old".getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(target, "new".getBytes(StandardCharsets.UTF_8));
    assertEquals("new", Files.readString(target));
    assertEquals(List.of(target), list(target.getParent()));
  }

  @Test
  void theNewFileIsOwnerOnlyUnlessAModeIsGiven() throws IOException {
    Path secret = dir.resolve("token");
    AtomicFiles.write(secret, "s".getBytes(StandardCharsets.UTF_8));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
    Path shared = dir.resolve("task.manifest");
    AtomicFiles.write(shared, out -> out.write('t'), PosixFilePermissions.fromString("rw-r--r--"));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared)));
  }

  @Test
  void aWriterThatFailsLeavesTheOldContentAndNoTemporaryFile() throws IOException {
    Path target = dir.resolve("result.manifest");
    Files.writeString(target, "old");
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                AtomicFiles.write(
                    target,
                    out -> {
                      out.write("half of the new".getBytes(StandardCharsets.UTF_8));
                      throw new IOException("the connection broke");
                    }));
    assertEquals("the connection broke", e.getMessage());
    assertEquals("old", Files.readString(target));
    assertEquals(List.of(target), list(dir));
  }

  @Test
  void aStreamedContentIsWrittenWhole() throws IOException {
    byte[] big = new byte[3 * 1024 * 1024 + 17];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) i;
    }
    Path target = dir.resolve("big.bin");
    AtomicFiles.write(target, out -> out.write(big));
    assertArrayEquals(big, Files.readAllBytes(target));
  }

  @Test
  void aTargetThatIsAFolderIsRefusedAndLeftAlone() throws IOException {
    Path target = Files.createDirectories(dir.resolve("folder"));
    Files.writeString(target.resolve("inside"), "x");
    assertThrows(IOException.class, () -> AtomicFiles.write(target, new byte[] {1}));
    assertEquals("x", Files.readString(target.resolve("inside")));
    assertEquals(List.of(target), list(dir));
  }

  private static List<Path> list(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.sorted().toList();
    }
  }
}
