package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.model.EndReason;
import java.nio.file.Path;

/**
 * Work that must run when an instance's guest has stopped but before the backend releases it (which
 * throws its disk away): a bootstrap keeps and publishes the disk here.
 */
@FunctionalInterface
public interface EndHook {

  /**
   * Called at most once, under the instance's lock, on a manager thread. Returns a note for the
   * instance's end message, or null.
   */
  String guestEnded(GuestEnd end);

  /**
   * How the guest ended and what it leaves.
   *
   * @param spec what the guest was launched with
   * @param reason why it ended (POWEROFF for its own clean end)
   * @param exitCode a container's exit code; null for a VM
   * @param tftpDir the instance folder (the worker's uploads, its result manifest)
   * @param keeper the backend's way to keep the disk; null when the backend cannot
   */
  record GuestEnd(
      LaunchSpec spec, EndReason reason, Integer exitCode, Path tftpDir, KeepsGuestDisk keeper) {}
}
