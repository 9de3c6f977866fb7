package dev.buildhost.manager.journal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The persistent record of every instance not yet deleted: {@code <stateDir>/instances/<id>.json}.
 * Each write goes to a temporary file that is flushed to disk and then renamed over the old record,
 * so a crash at any moment leaves either the old or the new record, never a torn one.
 */
public final class Journal {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final String SUFFIX = ".json";
  private static final String TEMP_SUFFIX = ".tmp";
  private static final String BAD_SUFFIX = ".bad";

  /** Instance ids are made by the manager; anything else in the folder is not a record. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private final Path dir;
  private final ObjectMapper mapper =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(SerializationFeature.INDENT_OUTPUT);

  public Journal(Path stateDir) {
    this.dir = stateDir.resolve("instances");
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

  /** Replaces the record of {@code entry}'s instance atomically and durably. */
  public void write(JournalEntry entry) {
    String id = checkedId(entry.id());
    Path target = dir.resolve(id + SUFFIX);
    Path temp = dir.resolve("." + id + SUFFIX + TEMP_SUFFIX);
    try {
      byte[] json = mapper.writeValueAsBytes(entry);
      try (FileChannel channel =
          FileChannel.open(
              temp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        channel.write(ByteBuffer.wrap(json));
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDir();
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // the write failure below is what matters
      }
      throw new UncheckedIOException(
          "cannot write the journal record " + target + ": " + e.getMessage(), e);
    }
  }

  public void delete(String id) {
    try {
      Files.deleteIfExists(dir.resolve(checkedId(id) + SUFFIX));
      syncDir();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot delete the journal record of " + id + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads every record. Temporary files left by a crash mid-write are removed; a record that cannot
   * be read is logged and renamed to {@code <name>.bad} so that it is kept for inspection and never
   * blocks a start.
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
            JournalEntry entry = mapper.readValue(file.toFile(), JournalEntry.class);
            if (!(entry.id() + SUFFIX).equals(name)) {
              throw new IOException("the record names instance " + entry.id());
            }
            entries.add(entry);
          } catch (IOException | RuntimeException e) {
            Path bad = file.resolveSibling(name + BAD_SUFFIX);
            LOG.error("journal: cannot read {} ({}); moved aside to {}", file, e.getMessage(), bad);
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

  /**
   * The ids of the records that could not be read (kept as {@code <id>.json.bad}): their guests and
   * folders must be left alone until an operator looks at them.
   */
  public Set<String> unreadable() {
    Set<String> ids = new TreeSet<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX + BAD_SUFFIX)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        ids.add(name.substring(0, name.length() - SUFFIX.length() - BAD_SUFFIX.length()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the journal folder " + dir + ": " + e.getMessage(), e);
    }
    return ids;
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
