package dev.buildhost.manager.network;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One daemon's hold on the names of its bridge network: a lock file per bridge name and per table
 * name under {@link #FOLDER}, locked for as long as the daemon runs. A second daemon given the same
 * bridge or table name is refused, naming the holder, instead of adopting the network and removing
 * the first one's guests as leftovers. The kernel drops the locks when the holder dies, so a daemon
 * killed with {@code kill -9} is still adopted by its successor.
 *
 * <p>File locks belong to the process: within one JVM a claim is shared (counted), as in the tests
 * that open a network again to stand for the next daemon.
 */
final class NetworkClaim implements AutoCloseable {

  /** Under {@code /run}: gone at reboot, when no network of ours is left either. */
  static final Path FOLDER = Path.of("/run/buildhost/network");

  private static final Map<Path, Held> HELD_HERE = new HashMap<>();

  private final List<Path> files;
  private boolean released;

  private NetworkClaim(List<Path> files) {
    this.files = files;
  }

  /**
   * Claims the bridge and table names of {@code network} for the daemon whose state folder is
   * {@code stateFolder}.
   *
   * @throws NetworkException naming the daemon that holds one of them, or what failed
   */
  static NetworkClaim take(GuestNetwork network, Path stateFolder) throws NetworkException {
    String holder = "pid " + ProcessHandle.current().pid() + ", state folder " + stateFolder;
    List<Path> taken = new ArrayList<>();
    try {
      Files.createDirectories(FOLDER);
      taken.add(lock(FOLDER.resolve("bridge-" + network.bridgeName()), "bridge", holder));
      taken.add(lock(FOLDER.resolve("table-" + network.tableName()), "table", holder));
    } catch (IOException | NetworkException e) {
      taken.forEach(NetworkClaim::unlock);
      if (e instanceof NetworkException n) {
        throw n;
      }
      throw new NetworkException(
          "cannot claim the guest network's names under " + FOLDER + ": " + e.getMessage(), e);
    }
    return new NetworkClaim(taken);
  }

  private static synchronized Path lock(Path file, String what, String holder)
      throws IOException, NetworkException {
    Held held = HELD_HERE.get(file);
    if (held != null) {
      held.count++;
      return file;
    }
    FileChannel channel =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      if (channel.tryLock() != null) {
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        HELD_HERE.put(file, new Held(channel));
        return file;
      }
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    try (channel) {
      String other = Files.readString(file, StandardCharsets.UTF_8).strip();
      String name = file.getFileName().toString().substring(what.length() + 1);
      throw new NetworkException(
          "the "
              + what
              + " name '"
              + name
              + "' is in use by another buildhost daemon ("
              + (other.isEmpty() ? "holder unknown" : other)
              + "; lock "
              + file
              + "): give this daemon other network_bridge, network_table and network_address"
              + " settings, or stop that daemon");
    }
  }

  private static synchronized void unlock(Path file) {
    Held held = HELD_HERE.get(file);
    if (held == null || --held.count > 0) {
      return;
    }
    HELD_HERE.remove(file);
    try {
      held.channel.close(); // releases the lock; the file stays, a new lock on it is as good
    } catch (IOException e) {
      // The lock goes with the channel's descriptor, which close() releases even when it fails.
    }
  }

  /** Releases the names: the next daemon may adopt the network. */
  @Override
  public synchronized void close() {
    if (!released) {
      released = true;
      files.forEach(NetworkClaim::unlock);
    }
  }

  private static final class Held {
    final FileChannel channel;
    int count = 1;

    Held(FileChannel channel) {
      this.channel = channel;
    }
  }
}
