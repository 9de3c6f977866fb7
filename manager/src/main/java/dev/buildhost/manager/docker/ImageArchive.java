package dev.buildhost.manager.docker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * What an image tarball of a revision holds, learnt by reading it once: whether it is a {@code
 * docker save} archive or a root file system, the sha256 of the file, and for a {@code docker save}
 * archive the id the image gets when loaded. Reading it also checks that it is a whole, well-formed
 * tar (plain or gzip-compressed), so a corrupt file is refused before the engine sees it.
 *
 * <p>What is needed to hand the archive to the engine without letting it name tags: for a {@code
 * docker save} archive, its {@code manifest.json} with {@code RepoTags} taken out and where the
 * entries the engine would read tags from lie (see {@link LoadStream}); for a root file system, the
 * sha256 of its uncompressed tar, which is the diff id of the layer it becomes.
 *
 * @param imageId {@code sha256:<hex>} of the image's config for {@link Kind#DOCKER_SAVE} (checked
 *     against the config's content), else null
 * @param gzip whether the file is gzip-compressed
 * @param diffId {@code sha256:<hex>} of the uncompressed tar
 * @param untaggedManifest {@link Kind#DOCKER_SAVE}: manifest.json without RepoTags, else null
 * @param tagSources {@link Kind#DOCKER_SAVE}: the spans of the uncompressed tar holding the entries
 *     that can name tags (manifest.json, repositories, index.json)
 * @param endOfArchive offset in the uncompressed tar where its entries end
 */
// ArrayRecordComponent: a payload carrier, never compared or used as a key.
@SuppressWarnings("ArrayRecordComponent")
record ImageArchive(
    Path file,
    Kind kind,
    String sha256,
    String imageId,
    long size,
    boolean gzip,
    String diffId,
    byte[] untaggedManifest,
    List<Span> tagSources,
    long endOfArchive) {

  /** Bytes {@code [start, end)} of the uncompressed tar. */
  record Span(long start, long end) {}

  enum Kind {
    /** {@code docker save} output: {@code manifest.json} at the top level; loaded as it is. */
    DOCKER_SAVE,
    /** Any other tar: a root file system, imported as a single-layer image. */
    ROOTFS
  }

  private static final String MANIFEST = "manifest.json";

  /** Entries from which an engine takes tags: dropped from what it is given to load. */
  static final Set<String> TAG_SOURCES = Set.of(MANIFEST, "repositories", "index.json");

  private static final int MANIFEST_LIMIT = 1 << 20;

  /**
   * Entries only a docker save or OCI layout has; without manifest.json they mean a damaged
   * archive.
   */
  private static final Pattern IMAGE_LAYOUT_ENTRY =
      Pattern.compile(
          "([0-9a-f]{64}/layer\\.tar|blobs/sha256/[0-9a-f]{64}|oci-layout|repositories)");

  private static final Pattern HEX_ID = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern DIGEST_NAMED =
      Pattern.compile("(?:blobs/sha256/)?[0-9a-f]{64}(?:\\.json)?");
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
    try (InputStream raw =
        new ReadCounter(
            new DigestInputStream(
                new BufferedInputStream(Files.newInputStream(file), 1 << 16), sha256),
            bytesRead)) {
      Contents contents = readTar(file, raw);
      raw.transferTo(
          OutputStream.nullOutputStream()); // whatever follows the tar still counts for the hash
      String hex = HexFormat.of().formatHex(sha256.digest());
      if (contents.manifest == null) {
        String layoutEntry =
            contents.names.stream()
                .filter(name -> IMAGE_LAYOUT_ENTRY.matcher(name).matches())
                .findFirst()
                .orElse(null);
        if (layoutEntry != null) {
          throw corrupt(
              file,
              "it has the layout of a docker save archive ('"
                  + layoutEntry
                  + "') but no top-level "
                  + MANIFEST
                  + ": truncated or damaged?");
        }
        return new ImageArchive(
            file,
            Kind.ROOTFS,
            hex,
            null,
            size,
            contents.gzip,
            contents.diffId,
            null,
            List.of(),
            contents.endOfArchive);
      }
      JsonNode image = manifestImage(file, contents);
      String configHex = configOf(file, contents, image);
      ((ObjectNode) image).putNull("RepoTags");
      byte[] untagged = JSON.writeValueAsBytes(JSON.createArrayNode().add(image));
      return new ImageArchive(
          file,
          Kind.DOCKER_SAVE,
          hex,
          "sha256:" + configHex,
          size,
          contents.gzip,
          contents.diffId,
          untagged,
          List.copyOf(contents.tagSources),
          contents.endOfArchive);
    }
  }

  /** Opens the file as the tar it holds: decompressed when it is gzip-compressed. */
  static InputStream openTar(Path file, boolean gzip) throws IOException {
    InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    return gzip ? new GZIPInputStream(in, 1 << 16) : in;
  }

  /** The entry names and manifest.json of the tar read from {@code raw}; checks its structure. */
  private static Contents readTar(Path file, InputStream raw) throws IOException, BackendException {
    BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
    buffered.mark(2);
    boolean gzip = buffered.read() == 0x1f && buffered.read() == 0x8b;
    buffered.reset();
    Contents contents = new Contents();
    contents.gzip = gzip;
    MessageDigest uncompressed = newSha256();
    DigestInputStream tarBytes =
        new DigestInputStream(
            gzip ? new GZIPInputStream(buffered, 1 << 16) : buffered, uncompressed);
    TarWalker tar = new TarWalker(tarBytes);
    try {
      contents.entries =
          tar.walk(
              (name, type, size, start, data) -> {
                contents.closeTagSource(start);
                String cleaned = clean(name);
                contents.names.add(cleaned);
                contents.configDigests.remove(cleaned); // the engine keeps the last entry of a name
                if (TAG_SOURCES.contains(cleaned)) {
                  contents.openTagSource = start;
                }
                if (cleaned.equals(MANIFEST)) {
                  contents.manifest = null;
                  if (type == '0') {
                    if (size > MANIFEST_LIMIT) {
                      throw new TarWalker.TarException(
                          MANIFEST + " is larger than " + MANIFEST_LIMIT + " bytes");
                    }
                    contents.manifest = data.readAllBytes();
                  }
                } else if (type == '0'
                    && size <= MANIFEST_LIMIT
                    && DIGEST_NAMED.matcher(cleaned).matches()) {
                  MessageDigest digest = newSha256();
                  digest.update(data.readAllBytes());
                  contents.configDigests.put(cleaned, HexFormat.of().formatHex(digest.digest()));
                }
              });
      contents.endOfArchive = tar.endOfArchive();
      contents.closeTagSource(contents.endOfArchive);
      tarBytes.transferTo(
          OutputStream.nullOutputStream()); // the engine's diff id covers what follows the tar too
    } catch (TarWalker.TarException e) {
      throw corrupt(
          file,
          "not a valid tar archive: "
              + e.getMessage()
              + (gzip ? " (in the gzip-decompressed data)" : ""));
    } catch (ZipException | EOFException e) {
      throw corrupt(file, "damaged gzip data: " + e.getMessage());
    }
    if (contents.entries == 0) {
      throw corrupt(file, "the tar archive holds no files");
    }
    contents.diffId = "sha256:" + HexFormat.of().formatHex(uncompressed.digest());
    return contents;
  }

  /** The one image manifest.json lists. */
  private static JsonNode manifestImage(Path file, Contents contents) throws BackendException {
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
      throw corrupt(
          file,
          MANIFEST + " lists " + images.size() + " images; a machine revision needs exactly one");
    }
    if (!images.get(0).isObject()) {
      throw corrupt(file, MANIFEST + " lists an image that is not a JSON object");
    }
    return images.get(0);
  }

  /**
   * The image config id named by manifest.json; checks that the archive has the files it names and
   * that the config holds what its name, its digest, says: the engine derives the image id from the
   * content, and that id is what buildhost trusts.
   */
  private static String configOf(Path file, Contents contents, JsonNode image)
      throws BackendException {
    String config = image.path("Config").asText("");
    if (config.isEmpty() || !image.path("Layers").isArray()) {
      throw corrupt(file, MANIFEST + " has no Config or Layers for its image");
    }
    for (JsonNode layer : image.path("Layers")) {
      requireEntry(file, contents, "layer", layer.asText());
    }
    requireEntry(file, contents, "config", config);
    String name = clean(config);
    String hex =
        name.startsWith("blobs/sha256/")
            ? name.substring("blobs/sha256/".length())
            : name.endsWith(".json") ? name.substring(0, name.length() - ".json".length()) : name;
    if (!HEX_ID.matcher(hex).matches()) {
      throw corrupt(
          file,
          MANIFEST + " names config '" + config + "', which is not named by its sha256 digest");
    }
    String actual = contents.configDigests.get(name);
    if (actual == null) {
      throw corrupt(
          file,
          "the config '"
              + config
              + "' is not a regular file of at most "
              + MANIFEST_LIMIT
              + " bytes");
    }
    if (!actual.equals(hex)) {
      throw corrupt(
          file,
          "the config '" + config + "' does not hold what its name says: its sha256 is " + actual);
    }
    return hex;
  }

  private static void requireEntry(Path file, Contents contents, String what, String name)
      throws BackendException {
    if (!contents.names.contains(clean(name))) {
      throw corrupt(
          file,
          MANIFEST
              + " names "
              + what
              + " '"
              + name
              + "', which the archive does not contain: truncated or damaged?");
    }
  }

  /**
   * Entry names as the engine's extraction means them (Go's {@code filepath.Clean} below the
   * archive's root): without {@code ./}, {@code /} at either end, empty or {@code .} components,
   * and with {@code ..} taken out lexically.
   */
  static String clean(String name) {
    Deque<String> parts = new ArrayDeque<>();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        parts.pollLast();
      } else {
        parts.addLast(part);
      }
    }
    return String.join("/", parts);
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

    /**
     * sha256 of small regular entries named like a digest, by cleaned name (candidates for the
     * config).
     */
    final Map<String, String> configDigests = new HashMap<>();

    final List<Span> tagSources = new ArrayList<>();
    long openTagSource = -1;
    int entries;
    byte[] manifest;
    boolean gzip;
    String diffId;
    long endOfArchive;

    /**
     * Ends the span of a tag source entry that started earlier: the next entry starts at {@code
     * at}.
     */
    void closeTagSource(long at) {
      if (openTagSource >= 0) {
        tagSources.add(new Span(openTagSource, at));
        openTagSource = -1;
      }
    }
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
