package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageLoaderTest {

  private static Revision revision(String name, String version) {
    Manifest manifest =
        new Manifest(
            "id",
            name,
            "s",
            MachineType.DOCKER,
            "build",
            null,
            null,
            null,
            null,
            List.of(),
            null,
            null,
            null,
            null,
            null,
            "image.tar",
            null);
    return new Revision(
        name, version, Path.of("/build/machines", name, name + "-" + version), manifest);
  }

  @Test
  void tagIsMachineAndRevision() throws BackendException {
    assertEquals(
        "buildhost/sample-container:1.0", ImageLoader.tagFor(revision("sample-container", "1.0")));
    assertEquals(
        "buildhost/debian_12.x86-64:12.3",
        ImageLoader.tagFor(revision("Debian_12.X86-64", "12.3")));
  }

  @Test
  void namesDockerCannotTakeAreRefused() {
    String message =
        assertThrows(BackendException.class, () -> ImageLoader.tagFor(revision("bad name", "1.0")))
            .getMessage();
    assertTrue(message.contains("cannot be a Docker image name"), message);
    assertThrows(BackendException.class, () -> ImageLoader.tagFor(revision("-lead", "1.0")));
    assertThrows(BackendException.class, () -> ImageLoader.tagFor(revision("ok", "1.0/x")));
  }
}
