package dev.buildhost.monitor.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.buildhost.common.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's files in {@code <state_dir>/monitor/}: {@code state.json} ({@link MonitorState}),
 * {@code toolchains/<name>.sha256} (the checksum file each toolchain was last bootstrapped from),
 * {@code reboots.json} (the reboot history) and {@code last-reboot.json} (the last decided reboot).
 * Every write is atomic.
 */
public final class StateStore {
  private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);
  public static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path dir;

  public StateStore(Path dir) {
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }

  public Path stateFile() {
    return dir.resolve("state.json");
  }

  /**
   * {@code toolchains/<name>.sha256}: the checksum file toolchain name was last bootstrapped from.
   */
  public Path checksumFile(String toolchain) {
    return dir.resolve("toolchains").resolve(toolchain + ".sha256");
  }

  public Path rebootsFile() {
    return dir.resolve("reboots.json");
  }

  public Path lastRebootFile() {
    return dir.resolve("last-reboot.json");
  }

  public Optional<MonitorState> readState() {
    return read(stateFile(), MonitorState.class);
  }

  public void writeState(MonitorState s) throws IOException {
    write(stateFile(), s);
  }

  public void writeChecksumFile(String toolchain, byte[] bytes) throws IOException {
    AtomicFiles.write(checksumFile(toolchain), bytes);
  }

  /**
   * Reads a JSON file; a missing file is empty, an unreadable one is logged and empty (the state is
   * not precious).
   */
  public <T> Optional<T> read(Path file, Class<T> type) {
    try {
      return Optional.of(JSON.readValue(Files.readAllBytes(file), type));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read {} ({}); starting without it", file, e.getMessage());
      return Optional.empty();
    }
  }

  public void write(Path file, Object value) throws IOException {
    AtomicFiles.write(file, JSON.writeValueAsBytes(value));
  }
}
