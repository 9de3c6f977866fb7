package dev.buildhost.manager.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient.Request;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the image of a docker machine revision available in the engine, once per revision.
 *
 * <p>A manifest {@code image} ending in {@code .tar} names a file of the revision: a {@code docker
 * save} archive or a root file system tar (which becomes a one-layer image). Either way the image
 * is loaded without letting the archive name any tag ({@link LoadStream}) and then tagged {@code
 * buildhost/<name>:<P>.<R>} by buildhost, and the tag is trusted only while it points at the image
 * id the file's content gives: for a {@code docker save} archive the digest of its config (checked
 * against the config's content), for a root file system the digest of the config buildhost writes
 * for it, which is deterministic (the file's sha256, its uncompressed sha256, the machine and
 * revision, the engine's architecture, no dates). Labels are never what makes an image ours:
 * anything loaded into the engine can carry any label. A changed tarball therefore yields a new
 * image; the image it replaces is removed when nothing else uses it. Any other {@code image} value
 * is a reference to an image already in the engine: it is never pulled (build hosts reach no
 * registry).
 *
 * <p>Starts of the same revision wait for one load; a tarball's hash is computed once per file
 * version (size, time, inode) in this process. Loading reports progress, about every two seconds,
 * to the consumer given at construction (the CLI prints it).
 */
public final class ImageLoader {

  /** Image label holding the sha256 of the root file system tarball an image was imported from. */
  public static final String LABEL_SHA256 = "dev.buildhost.image.sha256";

  private static final Logger LOG = LoggerFactory.getLogger(ImageLoader.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REPOSITORY_PREFIX = "buildhost/";
  private static final Pattern REPOSITORY_NAME =
      Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(2);
  private static final Pattern LOADED_ID =
      Pattern.compile("Loaded image ID: (sha256:[0-9a-f]{64})");

  private final DockerConnection engine;
  private final Consumer<String> progress;

  /**
   * One empty file per tag this daemon's root loaded ({@code <name>:<P>.<R>}): what it may remove
   * once the revision is gone. Another root's daemon on the same engine keeps its own.
   */
  private final Path records;

  private final Map<String, Object> revisionLocks = new ConcurrentHashMap<>();
  private final Map<Path, Scanned> scans = new ConcurrentHashMap<>();

  /** Tag to the image found or loaded for the tarball version in {@code file}. */
  private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();

  /**
   * Loads hold it shared, the removal of replaced images exclusively: between a load and its
   * tagging the new image is untagged, and must not be taken for a replaced one.
   */
  private final ReadWriteLock loading = new ReentrantReadWriteLock();

  private volatile String architecture;

  ImageLoader(DockerConnection engine, Consumer<String> progress, Path records) {
    this.engine = engine;
    this.progress = Objects.requireNonNull(progress);
    this.records = records;
  }

  /**
   * {@code buildhost/<name>:<P>.<R>}: the tag an image tarball of {@code revision} is loaded as.
   */
  public static String tagFor(Revision revision) throws BackendException {
    return tagFor(revision.machine(), revision.version());
  }

  /** {@code buildhost/<machine>:<version>}, as {@link #tagFor(Revision)}. */
  static String tagFor(String machine, String version) throws BackendException {
    String name = machine.toLowerCase(Locale.ROOT);
    if (!REPOSITORY_NAME.matcher(name).matches() || !TAG.matcher(version).matches()) {
      throw new BackendException(
          "machine "
              + machine
              + " revision "
              + version
              + " cannot be a Docker image name: use lower-case letters, digits and . _ - only");
    }
    return REPOSITORY_PREFIX + name + ":" + version;
  }

  /**
   * Makes sure the revision's image is in the engine and returns the id of the image to create its
   * containers from (content-exact, whatever happens to a tag later): the image loaded from the
   * revision's tarball, or the one the manifest's image reference names now. Once a version of a
   * tarball was found in the engine, later calls ask the engine nothing; if the image was removed
   * since, creating a container fails and {@link #forget} makes the next call load it again.
   *
   * @throws BackendException the manifest names no image, the tarball is missing or corrupt (then
   *     nothing was added to the engine), the named local image is absent, or the engine failed
   */
  public String ensure(Revision revision) throws BackendException {
    Manifest manifest = revision.manifest();
    Path manifestFile = revision.dir().resolve("manifest");
    String image = manifest.image();
    if (image == null || image.isBlank()) {
      throw new BackendException(
          manifestFile
              + ": a docker machine needs an `image` field (an image"
              + " tarball of the revision, e.g. image.tar, or a local image reference)");
    }
    if (!manifest.imageIsArchive()) {
      return requireLocalImage(image, manifestFile);
    }
    Path file = revision.file(image);
    if (!Files.isRegularFile(file)) {
      throw new BackendException(
          file + ": no such image tarball (named by `image` in " + manifestFile + ")");
    }
    String tag = tagFor(revision);
    Loaded known = loaded.get(tag);
    if (known != null && known.file.isOf(file) && known.file.sameVersion(attributes(file))) {
      return known.imageId; // this version of the file was checked against the engine already
    }
    synchronized (revisionLocks.computeIfAbsent(tag, k -> new Object())) {
      remember(tag);
      ImageArchive archive = scan(file, tag);
      InspectImageResponse tagged = inspectOrNull(tag);
      String expected = expectedImageId(archive, revision);
      String imageId;
      if (tagged != null && expected.equals(tagged.getId())) {
        imageId = tagged.getId();
      } else {
        if (tagged != null) {
          LOG.info(
              "{} points at {}, not at {}, the image its tarball gives: loading the tarball",
              tag,
              tagged.getId(),
              expected);
        }
        imageId = load(archive, revision, tag, expected);
        if (tagged != null && !tagged.getId().equals(imageId)) {
          LOG.info(
              "{}: its tarball changed; removing the image it replaces, {}", tag, tagged.getId());
          removeQuietly(tagged.getId());
        }
        removeUnusedReplacedImages();
      }
      loaded.put(tag, new Loaded(scans.get(file), imageId));
      return imageId;
    }
  }

  /**
   * Forgets that the image of {@code revision} was found in the engine, so the next {@link #ensure}
   * checks again (and loads it again if it is gone).
   */
  public void forget(Revision revision) throws BackendException {
    loaded.remove(tagFor(revision));
  }

  /**
   * Whether the image tagged for {@code revision} exists and is the one its tarball gives (hashes
   * it if needed).
   */
  public boolean isLoaded(Revision revision) throws BackendException {
    if (!revision.manifest().imageIsArchive()) {
      return inspectOrNull(revision.manifest().image()) != null;
    }
    String tag = tagFor(revision);
    InspectImageResponse tagged = inspectOrNull(tag);
    return tagged != null
        && expectedImageId(scan(revision.file(revision.manifest().image()), tag), revision)
            .equals(tagged.getId());
  }

  /** The id the image of {@code archive} gets in the engine, known before loading it. */
  private String expectedImageId(ImageArchive archive, Revision revision) throws BackendException {
    return archive.kind() == ImageArchive.Kind.DOCKER_SAVE
        ? archive.imageId()
        : "sha256:" + sha256Hex(rootfsConfig(archive, revision));
  }

  /**
   * The config of the image a root file system tar becomes: what {@code docker import} would write,
   * without its date, so that the same file always gives the same image id.
   */
  private byte[] rootfsConfig(ImageArchive archive, Revision revision) throws BackendException {
    ObjectNode config = JSON.createObjectNode();
    config.put("architecture", architecture());
    config.put("os", "linux");
    config.put("created", "1970-01-01T00:00:00Z");
    ObjectNode labels = config.putObject("config").putObject("Labels");
    labels.put(LABEL_SHA256, archive.sha256());
    labels.put(DockerBackend.LABEL_MACHINE, revision.machine());
    labels.put(DockerBackend.LABEL_REVISION, revision.version());
    ObjectNode rootfs = config.putObject("rootfs");
    rootfs.put("type", "layers");
    rootfs.putArray("diff_ids").add(archive.diffId());
    config
        .putArray("history")
        .addObject()
        .put("created", "1970-01-01T00:00:00Z")
        .put("created_by", "buildhost: root file system " + archive.file().getFileName());
    try {
      return JSON.writeValueAsBytes(config);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write an image config", e);
    }
  }

  /**
   * The engine's architecture in Go's terms (amd64, arm64), as {@code docker import} records it.
   */
  private String architecture() throws BackendException {
    String known = architecture;
    if (known == null) {
      try {
        known = engine.client().versionCmd().exec().getArch();
      } catch (RuntimeException e) {
        throw engine.failure("cannot ask the engine for its architecture", e);
      }
      if (known == null || known.isBlank()) {
        throw new BackendException(
            "the Docker engine at " + engine.host() + " did not say its architecture");
      }
      architecture = known;
    }
    return known;
  }

  private static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  private String requireLocalImage(String reference, Path manifestFile) throws BackendException {
    InspectImageResponse image = inspectOrNull(reference);
    if (image == null) {
      throw new BackendException(
          "image '"
              + reference
              + "' (named by `image` in "
              + manifestFile
              + ") is not in the Docker engine at "
              + engine.host()
              + "; images are never pulled: load it"
              + " (docker load / docker import) or ship it as the revision's image.tar");
    }
    return image.getId();
  }

  private InspectImageResponse inspectOrNull(String reference) throws BackendException {
    DockerClient docker = engine.client();
    try {
      return docker.inspectImageCmd(reference).exec();
    } catch (NotFoundException e) {
      return null;
    } catch (RuntimeException e) {
      throw engine.failure("cannot inspect image " + reference, e);
    }
  }

  /** The archive's facts, hashing the file only when this version of it was not seen before. */
  private ImageArchive scan(Path file, String tag) throws BackendException {
    BasicFileAttributes attributes = attributes(file);
    Scanned known = scans.get(file);
    if (known != null && known.sameVersion(attributes)) {
      return known.archive;
    }
    Meter meter = new Meter(tag + ": checking " + file.getFileName(), attributes.size());
    try {
      ImageArchive archive = ImageArchive.scan(file, meter::update);
      scans.put(file, new Scanned(attributes, archive));
      LOG.info("{}: {} is a {} archive, sha256 {}", tag, file, archive.kind(), archive.sha256());
      return archive;
    } catch (IOException e) {
      throw new BackendException("cannot read image tarball " + file + ": " + e.getMessage(), e);
    }
  }

  private static BasicFileAttributes attributes(Path file) throws BackendException {
    try {
      return Files.readAttributes(file, BasicFileAttributes.class);
    } catch (IOException e) {
      throw new BackendException("cannot read image tarball " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Loads the archive as {@code expected} (unless the engine has that image already) and tags it
   * {@code tag}; a load that gives another image is undone and refused.
   */
  private String load(ImageArchive archive, Revision revision, String tag, String expected)
      throws BackendException {
    DockerClient docker = engine.client();
    loading.readLock().lock();
    try {
      boolean existed = inspectOrNull(expected) != null;
      if (!existed) {
        byte[] config =
            archive.kind() == ImageArchive.Kind.ROOTFS ? rootfsConfig(archive, revision) : null;
        String loadedId =
            post(
                "/images/load?quiet=1",
                archive,
                tag,
                archive.kind() == ImageArchive.Kind.ROOTFS ? "importing" : "loading",
                () ->
                    config == null
                        ? LoadStream.ofSaved(archive)
                        : LoadStream.ofRootfs(
                            archive, config, expected.substring("sha256:".length()) + ".json"));
        if (inspectOrNull(expected) == null) {
          if (loadedId != null && !loadedId.equals(expected)) {
            removeQuietly(loadedId);
          }
          throw new BackendException(
              "loading "
                  + archive.file()
                  + " reported success but the engine has no image "
                  + expected
                  + " (the one its content gives)"
                  + (loadedId == null
                      ? ""
                      : "; it loaded " + loadedId + ", which was removed again"));
        }
      }
      int colon = tag.lastIndexOf(':');
      try {
        docker
            .tagImageCmd(expected, tag.substring(0, colon), tag.substring(colon + 1))
            .withForce(true)
            .exec();
      } catch (RuntimeException e) {
        if (!existed) {
          removeQuietly(expected);
        }
        throw engine.failure("cannot tag image " + expected + " as " + tag, e);
      }
      return expected;
    } finally {
      loading.readLock().unlock();
    }
  }

  /** Opens the body of a request. */
  private interface Body {
    InputStream open() throws IOException;
  }

  /**
   * Streams the archive to {@code path} and reads the engine's JSON message stream.
   *
   * @return the id of the image loaded, as the engine reports it, or null
   */
  private String post(String path, ImageArchive archive, String tag, String verb, Body source)
      throws BackendException {
    DockerHttpClient http = engine.http();
    long started = System.nanoTime();
    String what = verb + " " + archive.file() + " (" + mib(archive.size()) + " MiB) as " + tag;
    report(what);
    Meter meter = new Meter(tag + ": " + verb, archive.size());
    try (InputStream body = new Metered(source.open(), meter);
        DockerHttpClient.Response response =
            http.execute(
                Request.builder()
                    .method(Request.Method.POST)
                    .path(path)
                    .putHeader("Content-Type", "application/x-tar")
                    .body(body)
                    .build())) {
      String text = null;
      String status = null;
      if (response.getStatusCode() / 100 != 2) {
        JsonNode error = JSON.readTree(response.getBody());
        text =
            error != null && error.hasNonNull("message")
                ? error.get("message").asText()
                : "HTTP status " + response.getStatusCode();
      } else {
        try (MappingIterator<JsonNode> messages =
            JSON.readerFor(JsonNode.class).readValues(response.getBody())) {
          while (messages.hasNextValue()) {
            JsonNode message = messages.nextValue();
            if (message.hasNonNull("error")) {
              text = message.get("error").asText();
            } else if (message.hasNonNull("stream")) {
              Matcher loadedId = LOADED_ID.matcher(message.get("stream").asText());
              if (loadedId.find()) {
                status = loadedId.group(1);
              }
            }
          }
        }
      }
      if (text != null) {
        throw new BackendException(
            archive.file()
                + ": the Docker engine refused it while "
                + verb
                + " it as "
                + tag
                + ": "
                + text);
      }
      report(
          String.format(
              Locale.ROOT, "%s: done in %.1f s", what, (System.nanoTime() - started) / 1e9));
      return status;
    } catch (IOException | RuntimeException e) {
      throw new BackendException(
          verb
              + " "
              + archive.file()
              + " as "
              + tag
              + " failed: "
              + DockerConnection.engineMessage(e),
          e);
    }
  }

  /**
   * Removes the images this root loaded whose tag is not in {@code tagsLeft} (the tags of the
   * revision folders that still exist); returns their tags. An image a container still uses stays,
   * and goes on a later call; one someone else removed is forgotten. A tag that also names an image
   * another tag names only loses that tag.
   */
  List<String> removeImagesExcept(Set<String> tagsLeft) throws BackendException {
    List<String> removed = new ArrayList<>();
    loading.writeLock().lock(); // no load in flight: its revision may have come back meanwhile
    try (DirectoryStream<Path> recorded = Files.newDirectoryStream(records)) {
      for (Path record : recorded) {
        String tag = REPOSITORY_PREFIX + record.getFileName();
        if (tagsLeft.contains(tag) || !record.getFileName().toString().contains(":")) {
          continue;
        }
        try {
          engine.client().removeImageCmd(tag).withForce(false).exec();
          LOG.info("{}: its revision is gone; removed the image", tag);
          removed.add(tag);
        } catch (NotFoundException e) {
          LOG.info("{}: its revision is gone, and so is the image", tag);
        } catch (ConflictException e) {
          LOG.info("{}: its revision is gone; the image stays while a container uses it", tag);
          continue;
        }
        loaded.remove(tag);
        Files.delete(record);
      }
    } catch (NoSuchFileException e) {
      return removed; // this root never loaded an image
    } catch (IOException e) {
      throw new BackendException(
          "cannot read or update the records of loaded images in "
              + records
              + (removed.isEmpty() ? "" : " (removed before: " + String.join(", ", removed) + ")")
              + ": "
              + e.getMessage(),
          e);
    } finally {
      loading.writeLock().unlock();
    }
    return removed;
  }

  /** Notes that this root loads the image of {@code tag}, before it is loaded. */
  private void remember(String tag) throws BackendException {
    Path record = records.resolve(tag.substring(REPOSITORY_PREFIX.length()));
    if (Files.exists(record)) {
      return;
    }
    try {
      Files.createDirectories(records);
      Files.createFile(record);
    } catch (FileAlreadyExistsException e) {
      // another start of the machine recorded it
    } catch (IOException e) {
      throw new BackendException("cannot record the image " + tag + " in " + records, e);
    }
  }

  /**
   * Removes the untagged images buildhost imported that no container uses any more: images replaced
   * while a container still ran from them (their removal failed then).
   */
  void removeUnusedReplacedImages() {
    if (!loading.writeLock().tryLock()) {
      return; // a load is in flight; a later call removes what is left
    }
    try {
      engine
          .client()
          .listImagesCmd()
          .withDanglingFilter(true)
          .withLabelFilter(LABEL_SHA256)
          .exec()
          .forEach(image -> removeQuietly(image.getId()));
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot list replaced images: {}", e.getMessage());
    } finally {
      loading.writeLock().unlock();
    }
  }

  private void removeQuietly(String imageId) {
    try {
      engine.client().removeImageCmd(imageId).exec();
    } catch (NotFoundException | ConflictException e) {
      LOG.debug("image {} stays: {}", imageId, DockerConnection.engineMessage(e));
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot remove image {}: {}", imageId, e.getMessage());
    }
  }

  private void report(String message) {
    LOG.info(message);
    progress.accept(message);
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  /** Reports "label: N of M MiB (P%)" when a long read has made progress for a while. */
  private final class Meter {
    private final String label;
    private final long total;
    private long lastReport = System.nanoTime();

    Meter(String label, long total) {
      this.label = label;
      this.total = total;
    }

    void update(long done) {
      long now = System.nanoTime();
      if (now - lastReport >= PROGRESS_EVERY.toNanos() && done < total) {
        lastReport = now;
        report(
            String.format(
                Locale.ROOT,
                "%s: %d of %d MiB (%d%%)",
                label,
                done >> 20,
                mib(total),
                total == 0 ? 100 : done * 100 / total));
      }
    }
  }

  /** Feeds the bytes read through it to a {@link Meter}. */
  private static final class Metered extends FilterInputStream {
    private final Meter meter;
    private long done;

    Metered(InputStream in, Meter meter) {
      super(in);
      this.meter = meter;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        done += n;
        meter.update(done);
      }
      return n;
    }
  }

  private record Loaded(Scanned file, String imageId) {}

  private record Scanned(long size, long modified, Object fileKey, ImageArchive archive) {
    Scanned(BasicFileAttributes attributes, ImageArchive archive) {
      this(
          attributes.size(),
          attributes.lastModifiedTime().toMillis(),
          attributes.fileKey(),
          archive);
    }

    boolean isOf(Path file) {
      return archive.file().equals(file);
    }

    boolean sameVersion(BasicFileAttributes attributes) {
      return size == attributes.size()
          && modified == attributes.lastModifiedTime().toMillis()
          && Objects.equals(fileKey, attributes.fileKey());
    }
  }
}
