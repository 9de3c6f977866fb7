package dev.buildhost.manager.docker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.manager.backend.BackendException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * What an image tarball of a revision holds, learnt by reading it once: whether it is a
 * {@code docker save} archive or a root file system, the sha256 of the file, and for a
 * {@code docker save} archive the id the image gets when loaded. Reading it also checks that it
 * is a whole, well-formed tar (plain or gzip-compressed), so a corrupt file is refused before the
 * engine sees it.
 *
 * @param imageId {@code sha256:<hex>} of the image's config for {@link Kind#DOCKER_SAVE}, else null
 */
record ImageArchive(Path file, Kind kind, String sha256, String imageId, long size) {

  enum Kind {
    /** {@code docker save} output: {@code manifest.json} at the top level; loaded as it is. */
    DOCKER_SAVE,
    /** Any other tar: a root file system, imported as a single-layer image. */
    ROOTFS
  }

  private static final String MANIFEST = "manifest.json";
  private static final int MANIFEST_LIMIT = 1 << 20;
  /** Entries only a docker save or OCI layout has; without manifest.json they mean a damaged archive. */
  private static final Pattern IMAGE_LAYOUT_ENTRY =
      Pattern.compile("([0-9a-f]{64}/layer\\.tar|blobs/sha256/[0-9a-f]{64}|oci-layout|repositories)");
  private static final Pattern HEX_ID = Pattern.compile("[0-9a-f]{64}");
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Reads {@code file} completely.
   *
   * @param bytesRead told how many bytes of the file were read so far, now and then
   * @throws BackendException naming the file and what is wrong with it
   */
  static ImageArchive scan(Path file, LongConsumer bytesRead) throws BackendException, IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw corrupt(file, "no such file");
    }
    if (size == 0) {
      throw corrupt(file, "the file is empty, not a tar archive");
    }
    MessageDigest sha256 = newSha256();
    try (InputStream raw = new ReadCounter(new DigestInputStream(
        new BufferedInputStream(Files.newInputStream(file), 1 << 16), sha256), bytesRead)) {
      Contents contents = readTar(file, raw);
      raw.transferTo(OutputStream.nullOutputStream()); // whatever follows the tar still counts for the hash
      String hex = HexFormat.of().formatHex(sha256.digest());
      if (contents.manifest == null) {
        String layoutEntry = contents.names.stream()
            .filter(name -> IMAGE_LAYOUT_ENTRY.matcher(name).matches()).findFirst().orElse(null);
        if (layoutEntry != null) {
          throw corrupt(file, "it has the layout of a docker save archive ('"
              + layoutEntry + "') but no top-level " + MANIFEST + ": truncated or damaged?");
        }
        return new ImageArchive(file, Kind.ROOTFS, hex, null, size);
      }
      String configHex = configOf(file, contents);
      return new ImageArchive(file, Kind.DOCKER_SAVE, hex, "sha256:" + configHex, size);
    }
  }

  /** The entry names and manifest.json of the tar read from {@code raw}; checks its structure. */
  private static Contents readTar(Path file, InputStream raw) throws IOException, BackendException {
    BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
    buffered.mark(2);
    boolean gzip = buffered.read() == 0x1f && buffered.read() == 0x8b;
    buffered.reset();
    Contents contents = new Contents();
    TarWalker tar = new TarWalker(gzip ? new GZIPInputStream(buffered, 1 << 16) : buffered);
    try {
      contents.entries = tar.walk((name, type, size, data) -> {
        String normalized = normalize(name);
        contents.names.add(normalized);
        if (normalized.equals(MANIFEST) && type == '0') {
          contents.manifest = size <= MANIFEST_LIMIT ? data.readAllBytes() : null;
          if (contents.manifest == null) {
            throw new TarWalker.TarException(MANIFEST + " is larger than " + MANIFEST_LIMIT + " bytes");
          }
        }
      });
    } catch (TarWalker.TarException e) {
      throw corrupt(file, "not a valid tar archive: " + e.getMessage()
          + (gzip ? " (in the gzip-decompressed data)" : ""));
    } catch (ZipException | EOFException e) {
      throw corrupt(file, "damaged gzip data: " + e.getMessage());
    }
    if (contents.entries == 0) {
      throw corrupt(file, "the tar archive holds no files");
    }
    return contents;
  }

  /** The image config id named by manifest.json; checks that the archive has the files it names. */
  private static String configOf(Path file, Contents contents) throws BackendException {
    JsonNode images;
    try {
      images = JSON.readTree(contents.manifest);
    } catch (JsonProcessingException e) {
      throw corrupt(file, MANIFEST + " is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw corrupt(file, MANIFEST + " cannot be read: " + e.getMessage());
    }
    if (images == null || !images.isArray() || images.isEmpty()) {
      throw corrupt(file, MANIFEST + " lists no image");
    }
    if (images.size() != 1) {
      throw corrupt(file, MANIFEST + " lists " + images.size()
          + " images; a machine revision needs exactly one");
    }
    JsonNode image = images.get(0);
    String config = image.path("Config").asText("");
    if (config.isEmpty() || !image.path("Layers").isArray()) {
      throw corrupt(file, MANIFEST + " has no Config or Layers for its image");
    }
    for (JsonNode layer : image.path("Layers")) {
      requireEntry(file, contents, "layer", layer.asText());
    }
    requireEntry(file, contents, "config", config);
    String name = normalize(config);
    String hex = name.startsWith("blobs/sha256/") ? name.substring("blobs/sha256/".length())
        : name.endsWith(".json") ? name.substring(0, name.length() - ".json".length()) : name;
    if (!HEX_ID.matcher(hex).matches()) {
      throw corrupt(file, MANIFEST + " names config '" + config
          + "', which is not named by its sha256 digest");
    }
    return hex;
  }

  private static void requireEntry(Path file, Contents contents, String what, String name)
      throws BackendException {
    if (!contents.names.contains(normalize(name))) {
      throw corrupt(file, MANIFEST + " names " + what + " '" + name
          + "', which the archive does not contain: truncated or damaged?");
    }
  }

  /** Entry names as they are meant: without a leading {@code ./} or {@code /}, nor a trailing slash. */
  static String normalize(String name) {
    String n = name;
    while (n.startsWith("./") || n.startsWith("/")) {
      n = n.substring(n.charAt(0) == '.' ? 2 : 1);
    }
    while (n.endsWith("/")) {
      n = n.substring(0, n.length() - 1);
    }
    return n;
  }

  private static BackendException corrupt(Path file, String problem) {
    return new BackendException("image archive " + file + ": " + problem);
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  private static final class Contents {
    final Set<String> names = new HashSet<>();
    int entries;
    byte[] manifest;
  }

  /** Counts the bytes read through it and reports the running total. */
  private static final class ReadCounter extends FilterInputStream {
    private final LongConsumer report;
    long count;

    ReadCounter(InputStream in, LongConsumer report) {
      super(in);
      this.report = report;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        advance(1);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        advance(n);
      }
      return n;
    }

    @Override
    public boolean markSupported() {
      return false;
    }

    private void advance(int n) {
      count += n;
      report.accept(count);
    }
  }
}
