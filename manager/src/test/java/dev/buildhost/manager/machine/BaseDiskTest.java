package dev.buildhost.manager.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * A revision's base disk reaches no file outside its revision folder, checked on disks made by the
 * real {@code qemu-img} (package qemu-utils, installed by scripts/host-setup).
 */
class BaseDiskTest {

  @TempDir Path root;
  private Path revision;

  @BeforeEach
  void revisionFolder() throws IOException {
    revision = Files.createDirectories(root.resolve("machines/x/x-1.0"));
  }

  /** Runs qemu-img in the revision folder; fails the test if it fails. */
  static void qemuImg(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("qemu-img"));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "qemu-img did not finish");
    assertEquals(0, process.exitValue(), "qemu-img " + String.join(" ", args) + ": " + output);
  }

  private Manifest parse(String disk) throws IOException {
    Path manifest = revision.resolve("manifest");
    Files.writeString(manifest, ": 1\nname: x\nsummary: s\ntype: kvm\ndisk: " + disk + "\n");
    return ManifestParser.parse(manifest, "x");
  }

  private ManifestException refused(String disk) throws IOException {
    ManifestException e = assertThrows(ManifestException.class, () -> parse(disk));
    assertEquals(5, e.line(), e.getMessage());
    assertEquals("disk", e.field(), e.getMessage());
    return e;
  }

  private static void assertMentions(ManifestException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "should mention '" + part + "': " + e.getMessage());
    }
  }

  @Test
  void aQcow2BackedByAHostFileIsRefusedNamingTheFileAndTheBackingPath() throws Exception {
    qemuImg(
        revision, "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "disk.qcow2");
    ManifestException e = refused("disk.qcow2");
    assertMentions(
        e,
        "'disk.qcow2' has the backing file '/etc/shadow', outside its revision folder "
            + revision.toRealPath());
  }

  @Test
  void aQcow2BackedByARelativePathOutOfTheFolderIsRefused() throws Exception {
    qemuImg(root.resolve("machines/x"), "create", "-q", "-f", "raw", "outside.raw", "1M");
    qemuImg(
        revision, "create", "-q", "-f", "qcow2", "-b", "../outside.raw", "-F", "raw", "disk.qcow2");
    assertMentions(
        refused("disk.qcow2"),
        "'disk.qcow2' has the backing file '../outside.raw', outside its revision folder");
  }

  @Test
  void aQcow2BackedByASymlinkInTheFolderIsRefused() throws Exception {
    Files.createSymbolicLink(revision.resolve("base.raw"), Path.of("/etc/shadow"));
    qemuImg(revision, "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "disk.qcow2");
    assertMentions(
        refused("disk.qcow2"), "'disk.qcow2' has the backing file 'base.raw', a symbolic link");
  }

  @Test
  void aQcow2BackedByAProtocolIsRefused() throws Exception {
    qemuImg(
        revision,
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-b",
        "nbd://127.0.0.1:1/export",
        "-F",
        "raw",
        "disk.qcow2",
        "1M");
    assertMentions(refused("disk.qcow2"), "'nbd://127.0.0.1:1/export'", "protocols");
  }

  @Test
  void aQcow2WithAnExternalDataFileIsRefused() throws Exception {
    qemuImg(
        root,
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        "data_file=" + root.resolve("data.raw"),
        revision.resolve("disk.qcow2").toString(),
        "1M");
    assertMentions(
        refused("disk.qcow2"),
        "'disk.qcow2' keeps its data in an external file '" + root.resolve("data.raw") + "'");
  }

  @Test
  void aHostileImageDeeperInTheChainIsRefused() throws Exception {
    qemuImg(
        revision, "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "middle.qcow2");
    qemuImg(
        revision,
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-b",
        "middle.qcow2",
        "-F",
        "qcow2",
        "disk.qcow2",
        "1M");
    assertMentions(refused("disk.qcow2"), "'middle.qcow2' has the backing file '/etc/shadow'");
  }

  @Test
  void aQcow2BackedByFilesOfItsRevisionIsAccepted() throws Exception {
    qemuImg(revision, "create", "-q", "-f", "raw", "base.raw", "1M");
    qemuImg(revision, "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "middle.qcow2");
    qemuImg(
        revision,
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        revision.resolve("middle.qcow2").toString(),
        "-F",
        "qcow2",
        "disk.qcow2");
    assertEquals("disk.qcow2", parse("disk.qcow2").disk());
  }

  @Test
  void aPlainQcow2IsAccepted() throws Exception {
    qemuImg(revision, "create", "-q", "-f", "qcow2", "disk.qcow2", "1M");
    assertEquals("disk.qcow2", parse("disk.qcow2").disk());
  }

  @Test
  void aRawDiskHoldingAQcow2HeaderStaysRawAndIsAccepted() throws Exception {
    qemuImg(root, "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "hostile.qcow2");
    Files.copy(root.resolve("hostile.qcow2"), revision.resolve("disk.img"));
    assertEquals(
        "disk.img",
        parse("disk.img").disk(),
        "raw by its name: its bytes are the guest's, nothing is chained");
  }

  @Test
  void aFileNamedQcow2ThatIsNotOneIsRefused() throws Exception {
    Files.writeString(revision.resolve("disk.qcow2"), "x".repeat(4096));
    assertMentions(
        refused("disk.qcow2"),
        "'disk.qcow2' is declared qcow2 by its name but does not start with the qcow2 magic");
  }

  @Test
  void aDiskWhoseNameTellsNoFormatIsRefused() throws Exception {
    qemuImg(revision, "create", "-q", "-f", "qcow2", "disk.vmdk", "1M");
    assertMentions(refused("disk.vmdk"), "'disk.vmdk' does not tell its format", "*.qcow2");
  }
}
