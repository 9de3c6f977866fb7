package dev.buildhost.manager.journal;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.buildhost.common.files.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The persistent record of every instance not yet deleted: {@code <stateDir>/instances/<id>.json}.
 * Each write goes through {@link AtomicFiles} (a temporary file flushed to disk, then renamed over
 * the old record), so a crash at any moment leaves either the old or the new record, never a torn
 * one. A record that cannot be read is kept aside as {@code <id>.json.bad} and reported as an
 * {@link UnreadableRecord}: nothing is deleted because of it.
 */
public final class Journal {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final String SUFFIX = ".json";
  private static final String TEMP_SUFFIX = ".tmp";
  private static final String BAD_SUFFIX = ".bad";

  /** Instance ids are made by the manager; anything else in the folder is not a record. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /** How much of an unreadable record is read to make out what it still says. */
  private static final int SALVAGE_BYTES = 1 << 20;

  /** The longest problem description kept: it is shown in the API, the CLI and the log. */
  private static final int PROBLEM_CHARS = 300;

  /** What a machine or revision name that is shown from a damaged record may look like. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private static final Pattern PORT_TEXT = Pattern.compile("\"tftpPort\"\\s*:\\s*(\\d{1,5})\\b");
  private static final Pattern MACHINE_TEXT =
      Pattern.compile("\"machine\"\\s*:\\s*\"([A-Za-z0-9._-]{1,128})\"");
  private static final Pattern REVISION_TEXT =
      Pattern.compile("\"revision\"\\s*:\\s*\"([A-Za-z0-9._-]{1,64})\"");
  private static final Pattern CREATED_TEXT =
      Pattern.compile("\"createdAt\"\\s*:\\s*\"([0-9T:.Z+-]{1,40})\"");

  private final Path dir;
  private final Clock clock;
  private final AtomicLong failedWrites = new AtomicLong();
  private volatile String lastError;
  private volatile Instant lastErrorAt;
  private final ObjectMapper mapper =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(SerializationFeature.INDENT_OUTPUT);

  public Journal(Path stateDir) {
    this(stateDir, Clock.systemUTC());
  }

  /** The journal in {@code stateDir}; {@code clock} dates the failures it reports. */
  public Journal(Path stateDir, Clock clock) {
    this.dir = stateDir.resolve("instances");
    this.clock = clock;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create the journal folder " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  /**
   * Replaces the record of {@code entry}'s instance atomically and durably. A failure is counted
   * (see {@link #failedWrites()}) and thrown.
   */
  public void write(JournalEntry entry) {
    String id = checkedId(entry.id());
    Path target = dir.resolve(id + SUFFIX);
    try {
      AtomicFiles.write(target, mapper.writeValueAsBytes(entry));
    } catch (IOException e) {
      String message = "cannot write the journal record " + target + ": " + e.getMessage();
      failedWrites.incrementAndGet();
      lastError = message;
      lastErrorAt = clock.instant();
      throw new UncheckedIOException(message, e);
    }
  }

  /** Journal writes that failed since the journal was opened. */
  public long failedWrites() {
    return failedWrites.get();
  }

  /** What the last failed write said; null when none failed. */
  public String lastError() {
    return lastError;
  }

  /** When the last write failed; null when none failed. */
  public Instant lastErrorAt() {
    return lastErrorAt;
  }

  /** Deletes the record of the instance, readable or not. */
  public void delete(String id) {
    try {
      Files.deleteIfExists(dir.resolve(checkedId(id) + SUFFIX));
      Files.deleteIfExists(dir.resolve(id + SUFFIX + BAD_SUFFIX));
      syncDir();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot delete the journal record of " + id + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads every record. Temporary files left by a crash mid-write are removed; a record that cannot
   * be read is logged and renamed to {@code <name>.bad} so that it is kept for inspection and never
   * blocks a start; {@link #unreadable()} reports it.
   */
  public List<JournalEntry> readAll() {
    List<JournalEntry> entries = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (name.endsWith(TEMP_SUFFIX)) {
          LOG.info("journal: removing {} left by an interrupted write", file);
          Files.deleteIfExists(file);
        } else if (name.endsWith(SUFFIX)) {
          try {
            entries.add(read(file));
          } catch (IOException | RuntimeException e) {
            Path bad = file.resolveSibling(name + BAD_SUFFIX);
            LOG.error("journal: cannot read {} ({}); moved aside to {}", file, problem(e), bad);
            Files.move(file, bad, StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the journal folder " + dir + ": " + e.getMessage(), e);
    }
    return entries;
  }

  private JournalEntry read(Path file) throws IOException {
    String name = file.getFileName().toString();
    JournalEntry entry = mapper.readValue(file.toFile(), JournalEntry.class);
    if (entry == null || entry.instance() == null) {
      throw new IOException("the record names no instance");
    }
    if (!(entry.id() + SUFFIX).equals(name)) {
      throw new IOException("the record names another instance than its file name");
    }
    if (entry.instance().state() == null) {
      throw new IOException("the record names no state");
    }
    return entry;
  }

  /**
   * The records that could not be read (kept as {@code <id>.json.bad}), each with what is wrong
   * with it and what it still says: their guests and folders must be left alone until an operator
   * looks at them. Files whose name is no instance id are logged and skipped.
   */
  public List<UnreadableRecord> unreadable() {
    List<UnreadableRecord> records = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX + BAD_SUFFIX)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        String id = name.substring(0, name.length() - SUFFIX.length() - BAD_SUFFIX.length());
        if (!ID.matcher(id).matches()) {
          LOG.warn("journal: {} is not named after an instance id; left alone", file);
          continue;
        }
        records.add(salvage(id, file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the journal folder " + dir + ": " + e.getMessage(), e);
    }
    records.sort((a, b) -> a.id().compareTo(b.id()));
    return records;
  }

  /** Reads the record again to say what is wrong with it, and makes out what it still says. */
  private UnreadableRecord salvage(String id, Path file) {
    String problem;
    try {
      Path asRecord = file.resolveSibling(id + SUFFIX);
      JournalEntry entry = mapper.readValue(file.toFile(), JournalEntry.class);
      if (entry == null || entry.instance() == null) {
        problem = "the record names no instance";
      } else if (!id.equals(entry.id())) {
        problem = "the record names another instance than its file name " + asRecord.getFileName();
      } else if (entry.instance().state() == null) {
        problem = "the record names no state";
      } else {
        problem =
            "it was unreadable once and set aside; it reads now: rename it back to "
                + asRecord.getFileName()
                + " and restart the daemon to adopt the instance";
      }
    } catch (IOException | RuntimeException e) {
      problem = problem(e);
    }
    String text = "";
    try (InputStream in = Files.newInputStream(file)) {
      text = new String(in.readNBytes(SALVAGE_BYTES), StandardCharsets.UTF_8);
    } catch (IOException e) {
      LOG.debug("journal: cannot read {} to salvage it: {}", file, e.getMessage());
    }
    String machine = null;
    String revision = null;
    int port = 0;
    Instant createdAt = null;
    JsonNode instance = tree(text).path("instance");
    if (instance.isObject()) {
      machine = name(instance.path("machine"));
      revision = name(instance.path("revision"));
      port = instance.path("tftpPort").canConvertToInt() ? instance.path("tftpPort").intValue() : 0;
      createdAt = instant(instance.path("createdAt").asText(null));
    }
    machine = machine != null ? machine : find(MACHINE_TEXT, text);
    revision = revision != null ? revision : find(REVISION_TEXT, text);
    if (port <= 0) {
      String found = find(PORT_TEXT, text);
      port = found == null ? 0 : Integer.parseInt(found);
    }
    createdAt = createdAt != null ? createdAt : instant(find(CREATED_TEXT, text));
    return new UnreadableRecord(
        id, file, problem, port > 0 && port <= 65535 ? port : 0, machine, revision, createdAt);
  }

  private JsonNode tree(String text) {
    try {
      JsonNode node = mapper.readTree(text);
      return node == null ? mapper.missingNode() : node;
    } catch (IOException | RuntimeException e) {
      return mapper.missingNode();
    }
  }

  /** The node's text when it is a plain name (what ids, machines and revisions are), else null. */
  private static String name(JsonNode node) {
    return node.isTextual() && NAME.matcher(node.textValue()).matches() ? node.textValue() : null;
  }

  private static String find(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    return matcher.find() ? matcher.group(1) : null;
  }

  private static Instant instant(String text) {
    if (text == null) {
      return null;
    }
    try {
      return Instant.parse(text);
    } catch (DateTimeException e) {
      return null;
    }
  }

  /**
   * What is wrong with a record, on one line and without the file's content beyond the position:
   * the parser's own words and where in the file it stumbled.
   */
  static String problem(Throwable e) {
    String problem;
    if (e instanceof JsonProcessingException json) {
      problem = json.getOriginalMessage();
      JsonLocation at = json.getLocation();
      if (at != null && at.getLineNr() > 0) {
        problem = problem + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
      }
    } else {
      problem = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
    problem = problem.replaceAll("[\\r\\n\\t]+", " ").strip();
    return problem.length() > PROBLEM_CHARS ? problem.substring(0, PROBLEM_CHARS) + "..." : problem;
  }

  private static String checkedId(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("not an instance id: " + id);
    }
    return id;
  }

  private void syncDir() throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }
}
