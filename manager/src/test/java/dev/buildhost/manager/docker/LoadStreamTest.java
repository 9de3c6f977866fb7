package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the engine is given to load: read back with the strict tar reader. */
class LoadStreamTest {

  private static final String CONFIG_JSON = "{\"config\":{}}";
  private static final String CONFIG =
      ImageArchiveTest.sha256(CONFIG_JSON.getBytes(StandardCharsets.UTF_8));
  private static final String LAYER = "b".repeat(64);

  @TempDir Path dir;

  /** Entry name to content, in order, of a tar stream. */
  private static Map<String, byte[]> entries(InputStream tar) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    TarWalker walker = new TarWalker(tar);
    walker.walk(
        (name, type, size, start, data) -> {
          assertTrue(
              entries.put(name + (type == '0' ? "" : "@" + type), data.readAllBytes()) == null,
              "twice: " + name);
        });
    return entries;
  }

  private Map<String, byte[]> hostileSave() throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("repositories", "{\"debian\":{\"12\":\"x\"}}".getBytes(StandardCharsets.UTF_8));
    entries.put(LAYER + "/", null);
    entries.put(LAYER + "/layer.tar", "layer bytes".getBytes(StandardCharsets.UTF_8));
    entries.put(
        "./manifest.json",
        ("[{\"Config\":\""
                + CONFIG
                + ".json\",\"RepoTags\":[\"debian:12\",\"buildhost/b:1.0\"],"
                + "\"Layers\":[\""
                + LAYER
                + "/layer.tar\"]}]")
            .getBytes(StandardCharsets.UTF_8));
    entries.put(CONFIG + ".json", CONFIG_JSON.getBytes(StandardCharsets.UTF_8));
    entries.put("index.json", "{\"manifests\":[]}".getBytes(StandardCharsets.UTF_8));
    return entries;
  }

  @Test
  void aSavedArchiveLosesEveryEntryThatNamesTagsAndGetsAnUntaggedManifestLast() throws Exception {
    for (boolean gzip : new boolean[] {false, true}) {
      byte[] tar = ImageArchiveTest.tar(hostileSave());
      Path file = Files.write(dir.resolve("image" + gzip + ".tar"), gzip ? gzip(tar) : tar);
      ImageArchive archive = ImageArchive.scan(file, n -> {});

      Map<String, byte[]> sent = entries(LoadStream.ofSaved(archive));

      assertEquals(
          java.util.List.of(LAYER + "/@5", LAYER + "/layer.tar", CONFIG + ".json", "manifest.json"),
          java.util.List.copyOf(sent.keySet()));
      assertEquals(
          "[{\"Config\":\""
              + CONFIG
              + ".json\",\"RepoTags\":null,\"Layers\":[\""
              + LAYER
              + "/layer.tar\"]}]",
          new String(sent.get("manifest.json"), StandardCharsets.UTF_8));
      assertArrayEquals(
          "layer bytes".getBytes(StandardCharsets.UTF_8), sent.get(LAYER + "/layer.tar"));
    }
  }

  @Test
  void aSavedArchiveChangedSinceItWasCheckedFailsTheStream() throws Exception {
    Path file = Files.write(dir.resolve("image.tar"), ImageArchiveTest.tar(hostileSave()));
    ImageArchive archive = ImageArchive.scan(file, n -> {});
    Files.write(file, java.util.Arrays.copyOf(Files.readAllBytes(file), 1024));
    IOException e =
        assertThrows(IOException.class, () -> LoadStream.ofSaved(archive).readAllBytes());
    assertTrue(e.getMessage().contains("changed since it was checked"), e.getMessage());
  }

  @Test
  void aRootFileSystemBecomesAOneLayerArchiveWithTheGivenConfig() throws Exception {
    Map<String, byte[]> rootfs = new LinkedHashMap<>();
    rootfs.put("bin/", null);
    rootfs.put("bin/sh", "#!".getBytes(StandardCharsets.UTF_8));
    byte[] tar = gzip(ImageArchiveTest.tar(rootfs));
    Path file = Files.write(dir.resolve("rootfs.tar"), tar);
    ImageArchive archive = ImageArchive.scan(file, n -> {});
    byte[] config = "{\"rootfs\":{}}".getBytes(StandardCharsets.UTF_8);

    Map<String, byte[]> sent =
        entries(LoadStream.ofRootfs(archive, config, "c".repeat(64) + ".json"));

    assertEquals(
        java.util.List.of(
            "manifest.json", "c".repeat(64) + ".json", archive.sha256() + "/layer.tar"),
        java.util.List.copyOf(sent.keySet()));
    assertEquals(
        "[{\"Config\":\""
            + "c".repeat(64)
            + ".json\",\"RepoTags\":null,\"Layers\":[\""
            + archive.sha256()
            + "/layer.tar\"]}]",
        new String(sent.get("manifest.json"), StandardCharsets.UTF_8));
    assertArrayEquals(config, sent.get("c".repeat(64) + ".json"));
    assertArrayEquals(
        tar, sent.get(archive.sha256() + "/layer.tar"), "the file itself is the layer");
    assertEquals(
        "sha256:" + ImageArchiveTest.sha256(ImageArchiveTest.tar(rootfs)),
        archive.diffId(),
        "the diff id is the uncompressed tar's digest");
  }

  @Test
  void headersAreValidUstarForLargeSizesToo() throws Exception {
    byte[] header = LoadStream.header("x", 9L << 30);
    assertTrue(TarWalker.checksumMatches(header));
    TarWalker walker = new TarWalker(new ByteArrayInputStream(header));
    long[] size = new long[1];
    assertThrows(
        TarWalker.TarException.class,
        () -> walker.walk((name, type, s, start, data) -> size[0] = s));
    assertEquals(9L << 30, size[0], "base-256 size read back");
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
      gzip.write(data);
    }
    return bytes.toByteArray();
  }
}
