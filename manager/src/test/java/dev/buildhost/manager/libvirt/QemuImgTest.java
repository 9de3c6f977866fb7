package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.manager.backend.BackendException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Overlays made by the real qemu-img, and their backing chains as qemu-img reads them. */
class QemuImgTest {

  @TempDir Path root;
  private Path revision;
  private Path instance;

  @BeforeEach
  void folders() throws IOException {
    revision = Files.createDirectories(root.resolve("machines/x/x-1.0")).toRealPath();
    instance = Files.createDirectories(root.resolve("instances/x-1")).toRealPath();
  }

  private static String qemuImg(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("qemu-img"));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "qemu-img did not finish");
    assertEquals(0, process.exitValue(), "qemu-img " + String.join(" ", args) + ": " + output);
    return output;
  }

  /** [filename, format] of each image in the overlay's chain, as qemu-img reads it. */
  private List<List<String>> chainOf(Path overlay) throws Exception {
    JsonNode chain =
        new ObjectMapper()
            .readTree(
                qemuImg(
                    instance,
                    "info",
                    "--output=json",
                    "--backing-chain",
                    "-f",
                    "qcow2",
                    overlay.toString()));
    List<List<String>> images = new ArrayList<>();
    for (JsonNode image : chain) {
      images.add(List.of(image.path("filename").asText(), image.path("format").asText()));
    }
    return images;
  }

  @Test
  void aRawDiskHoldingAQcow2HeaderStaysRawInTheOverlay() throws Exception {
    qemuImg(root, "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "hostile.qcow2");
    Path disk = revision.resolve("disk.img");
    Files.copy(root.resolve("hostile.qcow2"), disk);
    Path overlay = instance.resolve("disk.qcow2");

    QemuImg.createOverlay(disk, overlay);

    assertEquals(
        List.of(List.of(overlay.toString(), "qcow2"), List.of(disk.toString(), "raw")),
        chainOf(overlay),
        "the chain ends at the raw disk: /etc/shadow is not in it");
  }

  @Test
  void anOverlayOverAChainInsideTheRevisionReachesOnlyItsFiles() throws Exception {
    qemuImg(revision, "create", "-q", "-f", "raw", "base.raw", "1M");
    qemuImg(revision, "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "disk.qcow2");
    Path overlay = instance.resolve("disk.qcow2");

    List<DomainXml.BackingFile> backing =
        QemuImg.createOverlay(revision.resolve("disk.qcow2"), overlay);

    assertEquals(
        List.of(
            List.of(overlay.toString(), "qcow2"),
            List.of(revision.resolve("disk.qcow2").toString(), "qcow2"),
            List.of(revision.resolve("base.raw").toString(), "raw")),
        chainOf(overlay));
    assertEquals(
        List.of(
            new DomainXml.BackingFile(revision.resolve("disk.qcow2"), "qcow2"),
            new DomainXml.BackingFile(revision.resolve("base.raw"), "raw")),
        backing,
        "the chain under the overlay, for the domain XML");
  }

  @Test
  void aBaseDiskBackedByAHostFileIsRefusedAtLaunchTooAndNoOverlayIsLeft() throws Exception {
    // The manifest was fine when read; the disk was swapped afterwards.
    qemuImg(
        revision, "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "disk.qcow2");
    Path overlay = instance.resolve("disk.qcow2");

    BackendException e =
        assertThrows(
            BackendException.class,
            () -> QemuImg.createOverlay(revision.resolve("disk.qcow2"), overlay));

    assertTrue(
        e.getMessage()
            .contains(
                "'disk.qcow2' has the backing file '/etc/shadow', outside its revision folder"),
        e.getMessage());
    assertFalse(Files.exists(overlay));
  }

  @Test
  void aDiskWhoseNameTellsNoFormatIsNotGuessed() throws Exception {
    qemuImg(revision, "create", "-q", "-f", "qcow2", "disk", "1M");
    BackendException e =
        assertThrows(
            BackendException.class,
            () -> QemuImg.createOverlay(revision.resolve("disk"), instance.resolve("disk.qcow2")));
    assertTrue(e.getMessage().contains("does not tell its format"), e.getMessage());
    assertFalse(Files.exists(instance.resolve("disk.qcow2")));
  }
}
