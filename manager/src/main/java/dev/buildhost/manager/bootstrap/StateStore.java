package dev.buildhost.manager.bootstrap;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.buildhost.common.files.Trees;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bootstrapped states on disk: {@code <state>/bootstrapped/<machine>/<P.R>/<toolchain>/<id>/}
 * holding {@code state.json}, the VM's layer {@code disk.qcow2} and the bootstrap's {@code
 * result.manifest}, all read-only.
 *
 * <p>A state is assembled in {@code .staging/<instance>/} (same file system) and published by one
 * rename of that folder: a reader sees a whole state or none, and of two bootstraps of the same
 * revision and toolchain only the first rename wins (a rename onto a folder that holds a state
 * fails). A state is removed by renaming it into {@code .staging/} first, so it vanishes at once.
 * Whatever is left in {@code .staging/} belongs to a daemon that died mid-way: {@link #reconcile}
 * removes it.
 */
public final class StateStore {
  private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);

  static final String STATE_FILE = "state.json";
  static final String STAGING = ".staging";

  private final Path dir;
  private final ObjectMapper mapper =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * @param stateDir the daemon's state folder
   */
  public StateStore(Path stateDir) {
    this.dir = stateDir.resolve("bootstrapped");
  }

  public Path dir() {
    return dir;
  }

  /** A published state and its folder. */
  public record Stored(BootstrappedState state, Path folder) {

    /** The VM layer; null for a container. */
    public Path diskPath() {
      return state.disk() == null ? null : folder.resolve(state.disk());
    }
  }

  /** The folder where the state of a bootstrap instance is assembled (made empty). */
  synchronized Path staging(String instanceId) throws IOException {
    Path staging = dir.resolve(STAGING).resolve(instanceId);
    deleteTree(staging);
    Files.createDirectories(staging);
    return staging;
  }

  /** Where the state for (machine, version, toolchain, id) lives once published. */
  Path folderOf(String machine, String version, String toolchain, String toolchainId) {
    return dir.resolve(machine).resolve(version).resolve(toolchain).resolve(toolchainId);
  }

  /**
   * Publishes the state assembled in {@code staging}: writes its state.json, makes it read-only and
   * renames it into place. Returns false, leaving {@code staging} as it is, when a state for the
   * same revision and toolchain is there already.
   */
  synchronized boolean publish(Path staging, BootstrappedState state) throws IOException {
    Path target =
        folderOf(state.machine(), state.version(), state.toolchain(), state.toolchainId());
    if (Files.exists(target)) {
      return false;
    }
    Files.write(staging.resolve(STATE_FILE), mapper.writeValueAsBytes(state));
    Trees.makeReadOnly(staging);
    Files.createDirectories(target.getParent());
    try {
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot publish " + target + ": not on the file system of " + staging);
    } catch (IOException e) {
      if (Files.exists(target.resolve(STATE_FILE))) {
        return false; // another daemon's bootstrap won the rename
      }
      throw e;
    }
    LOG.info("bootstrapped state {} published in {}", state.id(), target);
    return true;
  }

  /** The published state for this revision and toolchain version, or null. */
  synchronized Stored find(String machine, String version, String toolchain, String toolchainId) {
    Path folder = folderOf(machine, version, toolchain, toolchainId);
    return read(folder);
  }

  /** Every published state, in folder order. */
  public synchronized List<Stored> list() {
    List<Stored> states = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return states;
    }
    try (Stream<Path> files = Files.walk(dir, 5)) {
      files
          .filter(p -> p.getFileName().toString().equals(STATE_FILE))
          .filter(p -> !dir.relativize(p).startsWith(STAGING))
          .sorted(Comparator.naturalOrder())
          .forEach(
              p -> {
                Stored stored = read(p.getParent());
                if (stored != null) {
                  states.add(stored);
                }
              });
    } catch (IOException e) {
      LOG.warn("cannot list the bootstrapped states in {}: {}", dir, e.toString());
    }
    return states;
  }

  /** Removes a published state: one rename makes it vanish, then its files are deleted. */
  synchronized void remove(Stored stored) throws IOException {
    Path trash = dir.resolve(STAGING).resolve("removed-" + UUID.randomUUID());
    Files.createDirectories(trash.getParent());
    try {
      Files.move(stored.folder(), trash, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException e) {
      return;
    }
    deleteTree(trash);
    removeEmptyParents(stored.folder().getParent());
    LOG.info("bootstrapped state {} removed", stored.state().id());
  }

  /** Bytes of the states' files (a qcow2 layer's size is about what it holds). */
  public long diskUse() {
    long[] total = {0};
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files
          .filter(Files::isRegularFile)
          .forEach(
              p -> {
                try {
                  total[0] += Files.size(p);
                } catch (IOException e) {
                  // gone meanwhile: counted as nothing
                }
              });
    } catch (IOException e) {
      LOG.warn("cannot measure {}: {}", dir, e.toString());
    }
    return total[0];
  }

  /** Removes what a bootstrap that never finished left in {@code .staging/}; returns how many. */
  synchronized int reconcile() {
    Path staging = dir.resolve(STAGING);
    int removed = 0;
    if (!Files.isDirectory(staging)) {
      return 0;
    }
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(staging)) {
      for (Path leftover : leftovers) {
        deleteTree(leftover);
        removed++;
        LOG.info("reconcile: removed the unfinished bootstrapped state {}", leftover);
      }
    } catch (IOException e) {
      LOG.warn("reconcile: cannot clear {}: {}", staging, e.toString());
    }
    return removed;
  }

  /** Removes the staging folder of a bootstrap that publishes nothing. */
  synchronized void discardStaging(Path staging) {
    try {
      deleteTree(staging);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", staging, e.toString());
    }
  }

  private Stored read(Path folder) {
    Path file = folder.resolve(STATE_FILE);
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      return new Stored(mapper.readValue(file.toFile(), BootstrappedState.class), folder);
    } catch (IOException e) {
      LOG.warn("bootstrapped state {} is unreadable: {}", file, e.toString());
      return null;
    }
  }

  private void removeEmptyParents(Path folder) {
    for (Path p = folder; p != null && p.startsWith(dir) && !p.equals(dir); p = p.getParent()) {
      try {
        Files.delete(p);
      } catch (IOException e) {
        return; // not empty: stop
      }
    }
  }

  static void deleteTree(Path tree) throws IOException {
    if (!Files.exists(tree)) {
      return;
    }
    Files.walkFileTree(
        tree,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.deleteIfExists(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
