package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageArchiveTest {

  private static final String CONFIG_JSON = "{\"config\":{}}";

  /** Named by its digest, as the engine (and the check) require. */
  private static final String CONFIG = sha256(CONFIG_JSON.getBytes(StandardCharsets.UTF_8));

  private static final String LAYER = "b".repeat(64);

  @TempDir Path dir;

  @Test
  void rootFileSystem() throws Exception {
    Path file = write("rootfs.tar", tar(rootfs()));
    AtomicLong read = new AtomicLong();
    ImageArchive archive = ImageArchive.scan(file, read::set);
    assertEquals(ImageArchive.Kind.ROOTFS, archive.kind());
    assertEquals(sha256(Files.readAllBytes(file)), archive.sha256());
    assertNull(archive.imageId());
    assertEquals(Files.size(file), read.get());
  }

  @Test
  void gzipCompressedRootFileSystem() throws Exception {
    Path file = write("rootfs.tar", gzip(tar(rootfs())));
    ImageArchive archive = ImageArchive.scan(file, n -> {});
    assertEquals(ImageArchive.Kind.ROOTFS, archive.kind());
    assertEquals(sha256(Files.readAllBytes(file)), archive.sha256());
  }

  @Test
  void dockerSaveArchive() throws Exception {
    Path file = write("image.tar", tar(saved("manifest.json", CONFIG + ".json")));
    ImageArchive archive = ImageArchive.scan(file, n -> {});
    assertEquals(ImageArchive.Kind.DOCKER_SAVE, archive.kind());
    assertEquals("sha256:" + CONFIG, archive.imageId());
  }

  @Test
  void dockerSaveArchiveWithDotSlashNamesAndOciConfigPath() throws Exception {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("./blobs/sha256/" + CONFIG, CONFIG_JSON.getBytes(StandardCharsets.UTF_8));
    entries.put("./blobs/sha256/" + LAYER, tar(rootfs()));
    entries.put(
        "./manifest.json",
        ("[{\"Config\":\"blobs/sha256/"
                + CONFIG
                + "\",\"Layers\":[\"blobs/sha256/"
                + LAYER
                + "\"]}]")
            .getBytes(StandardCharsets.UTF_8));
    ImageArchive archive = ImageArchive.scan(write("image.tar", tar(entries)), n -> {});
    assertEquals("sha256:" + CONFIG, archive.imageId());
  }

  @Test
  void truncatedInsideAnEntry() throws Exception {
    byte[] whole = tar(rootfs());
    Path file = write("image.tar", Arrays.copyOf(whole, 512 + 700));
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(message.startsWith("image archive " + file + ": "), message);
    assertTrue(message.contains("Truncated") || message.contains("truncated"), message);
  }

  @Test
  void truncatedInsideAHeader() throws Exception {
    byte[] whole = tar(rootfs());
    Path file = write("image.tar", Arrays.copyOf(whole, 512 + 512 + 100));
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(message.contains(file.toString()) && message.contains("truncated"), message);
  }

  @Test
  void garbage() throws Exception {
    byte[] junk = new byte[4096];
    new java.util.Random(7).nextBytes(junk);
    Path file = write("image.tar", junk);
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(
        message.contains(file.toString()) && message.contains("not a valid tar archive"), message);
  }

  @Test
  void damagedHeaderChecksum() throws Exception {
    byte[] bytes = tar(rootfs());
    bytes[512 + 10] ^= 0x55; // the second entry's name: its header checksum no longer matches
    Path file = write("image.tar", bytes);
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(message.contains("not a valid tar archive"), message);
  }

  @Test
  void emptyFileAndEmptyArchive() throws Exception {
    Path empty = write("empty.tar", new byte[0]);
    assertTrue(
        assertThrows(BackendException.class, () -> ImageArchive.scan(empty, n -> {}))
            .getMessage()
            .contains("empty"));
    Path noFiles = write("none.tar", tar(Map.of()));
    assertTrue(
        assertThrows(BackendException.class, () -> ImageArchive.scan(noFiles, n -> {}))
            .getMessage()
            .contains("holds no files"));
  }

  @Test
  void dockerSaveLayoutWithoutManifest() throws Exception {
    Map<String, byte[]> entries = saved("manifest.json", CONFIG + ".json");
    entries.remove("manifest.json");
    Path file = write("image.tar", tar(entries));
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(message.contains("no top-level manifest.json"), message);
  }

  @Test
  void manifestNamingAMissingLayer() throws Exception {
    Map<String, byte[]> entries = saved("manifest.json", CONFIG + ".json");
    entries.remove(LAYER + "/layer.tar");
    Path file = write("image.tar", tar(entries));
    String message =
        assertThrows(BackendException.class, () -> ImageArchive.scan(file, n -> {})).getMessage();
    assertTrue(
        message.contains(
            "names layer '" + LAYER + "/layer.tar', which the archive does not contain"),
        message);
  }

  @Test
  void badManifests() throws Exception {
    Map<String, byte[]> twoImages = saved("manifest.json", CONFIG + ".json");
    String one = "{\"Config\":\"" + CONFIG + ".json\",\"Layers\":[\"" + LAYER + "/layer.tar\"]}";
    twoImages.put("manifest.json", ("[" + one + "," + one + "]").getBytes(StandardCharsets.UTF_8));
    assertTrue(
        assertThrows(
                BackendException.class,
                () -> ImageArchive.scan(write("two.tar", tar(twoImages)), n -> {}))
            .getMessage()
            .contains("lists 2 images; a machine revision needs exactly one"));

    Map<String, byte[]> notJson = saved("manifest.json", CONFIG + ".json");
    notJson.put("manifest.json", "[{\"Config\":".getBytes(StandardCharsets.UTF_8));
    assertTrue(
        assertThrows(
                BackendException.class,
                () -> ImageArchive.scan(write("json.tar", tar(notJson)), n -> {}))
            .getMessage()
            .contains("manifest.json is not valid JSON"));

    Map<String, byte[]> badConfigName = saved("manifest.json", "config.json");
    badConfigName.put("config.json", "{}".getBytes(StandardCharsets.UTF_8));
    assertTrue(
        assertThrows(
                BackendException.class,
                () -> ImageArchive.scan(write("name.tar", tar(badConfigName)), n -> {}))
            .getMessage()
            .contains("not named by its sha256 digest"));
  }

  @Test
  void aConfigThatDoesNotHoldWhatItsNameSaysIsRefused() throws Exception {
    String forged = "c".repeat(64); // e.g. the id of another machine's image
    Map<String, byte[]> entries = saved("manifest.json", forged + ".json");
    String message =
        assertThrows(
                BackendException.class,
                () -> ImageArchive.scan(write("forged.tar", tar(entries)), n -> {}))
            .getMessage();
    assertTrue(
        message.contains(
            "the config '"
                + forged
                + ".json' does not hold what its name says: its sha256 is "
                + CONFIG),
        message);
  }

  @Test
  void theLastEntryOfANameIsTheOneThatCounts() throws Exception {
    Map<String, byte[]> entries = saved("manifest.json", CONFIG + ".json");
    entries.put(
        "./" + CONFIG + ".json",
        "{\"config\":{\"Labels\":{\"x\":\"y\"}}}".getBytes(StandardCharsets.UTF_8));
    String message =
        assertThrows(
                BackendException.class,
                () -> ImageArchive.scan(write("twice.tar", tar(entries)), n -> {}))
            .getMessage();
    assertTrue(message.contains("does not hold what its name says"), message);
  }

  @Test
  void theManifestIsKeptWithoutRepoTagsAndTheEntriesThatNameTagsAreFound() throws Exception {
    Map<String, byte[]> entries = saved("manifest.json", CONFIG + ".json");
    entries.put(
        "manifest.json",
        ("[{\"Config\":\""
                + CONFIG
                + ".json\",\"RepoTags\":[\"debian:12\"],\"Layers\":[\""
                + LAYER
                + "/layer.tar\"]}]")
            .getBytes(StandardCharsets.UTF_8));
    entries.put("repositories", "{\"debian\":{\"12\":\"x\"}}".getBytes(StandardCharsets.UTF_8));
    byte[] tar = tar(entries);
    ImageArchive archive = ImageArchive.scan(write("tags.tar", tar), n -> {});
    assertEquals(
        "[{\"Config\":\""
            + CONFIG
            + ".json\",\"RepoTags\":null,\"Layers\":[\""
            + LAYER
            + "/layer.tar\"]}]",
        new String(archive.untaggedManifest(), StandardCharsets.UTF_8));
    assertEquals(2, archive.tagSources().size(), archive.tagSources().toString());
    for (ImageArchive.Span span : archive.tagSources()) {
      assertTrue(
          span.start() % 512 == 0 && span.end() % 512 == 0 && span.end() > span.start(),
          span.toString());
    }
    assertEquals(
        archive.tagSources().get(1).end(),
        archive.endOfArchive(),
        "repositories is the last entry");
  }

  @Test
  void cleansEntryNamesAsTheEngineDoes() {
    assertEquals("manifest.json", ImageArchive.clean("./manifest.json"));
    assertEquals("bin", ImageArchive.clean("/bin/"));
    assertEquals("", ImageArchive.clean("./"));
    assertEquals("manifest.json", ImageArchive.clean("x/../manifest.json"));
    assertEquals("manifest.json", ImageArchive.clean(".//./manifest.json/"));
    assertEquals("manifest.json", ImageArchive.clean("../../manifest.json"));
  }

  // --- archives --------------------------------------------------------------------------------

  private static Map<String, byte[]> rootfs() {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("./", null);
    entries.put("./bin/", null);
    entries.put("./bin/busybox", new byte[3000]);
    entries.put("./etc/passwd", "root:x:0:0:root:/root:/bin/sh\n".getBytes(StandardCharsets.UTF_8));
    return entries;
  }

  private static Map<String, byte[]> saved(String manifestName, String configName)
      throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put(LAYER + "/", null);
    entries.put(LAYER + "/layer.tar", tar(rootfs()));
    entries.put(configName, CONFIG_JSON.getBytes(StandardCharsets.UTF_8));
    entries.put(
        manifestName,
        ("[{\"Config\":\""
                + configName
                + "\",\"RepoTags\":null,\"Layers\":[\""
                + LAYER
                + "/layer.tar\"]}]")
            .getBytes(StandardCharsets.UTF_8));
    return entries;
  }

  /** A tar of the entries in order; a null content makes a directory. */
  static byte[] tar(Map<String, byte[]> entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
        // A fixed time (the entry's default is now) so two calls give the same bytes and digest.
        entry.setModTime(FileTime.fromMillis(0));
        if (e.getValue() != null) {
          entry.setSize(e.getValue().length);
        }
        tar.putArchiveEntry(entry);
        if (e.getValue() != null) {
          tar.write(e.getValue());
        }
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream out = new GZIPOutputStream(bytes)) {
      out.write(data);
    }
    return bytes.toByteArray();
  }

  private Path write(String name, byte[] content) throws IOException {
    return Files.write(dir.resolve(name), content);
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
