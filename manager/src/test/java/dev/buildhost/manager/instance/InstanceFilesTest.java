package dev.buildhost.manager.instance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceFilesTest {
  @TempDir Path root;

  @Test
  void aPutReplacesTheFileAndLeavesNoTemporaryFile() throws Exception {
    InstanceFiles.put(root, "task.manifest", bytes("old"));
    InstanceFiles.put(root, "task.manifest", bytes("new"));
    assertEquals("new", Files.readString(root.resolve("task.manifest")));
    try (var files = Files.list(root)) {
      assertEquals(List.of("task.manifest"), files.map(f -> f.getFileName().toString()).toList());
    }
  }

  @Test
  void aPutFileIsReadableByOthersAsTheGuestsOwnUploadsAre() throws Exception {
    InstanceFiles.put(root, "task.manifest", bytes("task"));
    assertEquals(
        "rw-r--r--",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(root.resolve("task.manifest"))));
  }

  @Test
  void aPutIntoAFolderThatIsGoneDoesNotBringItBack() {
    Path deleted = root.resolve("a-deleted-instance");
    assertThrows(
        NoSuchFileException.class, () -> InstanceFiles.put(deleted, "task.manifest", bytes("x")));
    assertFalse(Files.exists(deleted));
  }

  private static ByteArrayInputStream bytes(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }
}
