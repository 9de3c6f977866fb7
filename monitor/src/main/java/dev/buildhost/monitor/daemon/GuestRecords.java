package dev.buildhost.monitor.daemon;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Whether guests of a daemon that cannot be reached may still run. Guests outlive their daemon
 * (libvirt and Docker own them), so a daemon that is down says nothing about them; its journal
 * does: the daemon keeps one record {@code <state_dir>/instances/<id>.json} for every instance not
 * yet deleted (doc/storage.md), written before the guest is launched, and keeps one it cannot read
 * as {@code <id>.json.bad} (an UNKNOWN instance, whose guest may run). An empty journal means no
 * guest can run; a missing one means none ran with this state folder, unless the daemon was
 * configured elsewhere ({@code daemon_url}), when the monitor cannot know.
 */
public final class GuestRecords {
  private final Path journal;
  private final boolean daemonElsewhere;

  /**
   * @param stateDir the state folder the daemon shares with the monitor
   * @param daemonElsewhere whether daemon_url is set (the daemon may keep its journal in another
   *     folder)
   */
  public GuestRecords(Path stateDir, boolean daemonElsewhere) {
    this.journal = stateDir.resolve("instances");
    this.daemonElsewhere = daemonElsewhere;
  }

  /** Why guests may run, or null when none can. */
  public String whyGuestsMayRun() {
    int records = 0;
    try (DirectoryStream<Path> ds =
        Files.newDirectoryStream(journal, "[A-Za-z0-9]*.{json,json.bad}")) {
      for (Path ignored : ds) {
        records++;
      }
    } catch (NoSuchFileException e) {
      return daemonElsewhere
          ? "daemon_url is set and the daemon's journal is not in "
              + journal.getParent()
              + ", so its instances are unknown"
          : null;
    } catch (IOException e) {
      return "its journal " + journal + " cannot be read (" + e.getMessage() + ")";
    }
    return records == 0
        ? null
        : "its journal " + journal + " holds " + records + " instance record(s)";
  }

  public Path journal() {
    return journal;
  }
}
