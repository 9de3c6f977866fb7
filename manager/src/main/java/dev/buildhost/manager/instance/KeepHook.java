package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.KeptDisk;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of an instance started with {@code keep}: its guest's disk is kept (a VM's overlay moved
 * into {@code <root>/instances/<id>/kept/}, a container committed to an image) until the instance
 * is deleted, so that it can be published as a new revision.
 */
final class KeepHook implements EndHook {
  private static final Logger LOG = LoggerFactory.getLogger(KeepHook.class);

  /** The folder of the instance folder that holds a kept VM disk. */
  static final String KEPT_FOLDER = "kept";

  private final TrackedInstance tracked;

  KeepHook(TrackedInstance tracked) {
    this.tracked = tracked;
  }

  /** Runs under the instance's lock (EndHook's contract). */
  @Override
  public String guestEnded(GuestEnd end) {
    if (end.keeper() == null) {
      return "its disk is not kept: the "
          + tracked.revision.manifest().type().manifestValue()
          + " backend cannot keep disks";
    }
    try {
      tracked.kept =
          end.keeper()
              .keep(
                  end.spec(),
                  tracked.instanceDir.resolve(KEPT_FOLDER),
                  Map.of(
                      "dev.buildhost.machine",
                      tracked.revision.machine(),
                      "dev.buildhost.revision",
                      tracked.revision.version(),
                      "dev.buildhost.instance",
                      end.spec().instanceId()));
      LOG.info("instance {}: disk kept until it is deleted", end.spec().instanceId());
      return "its disk is kept until it is deleted (publish it as a revision with `buildhost"
          + " publish`)";
    } catch (BackendException | RuntimeException e) {
      LOG.error("instance {}: cannot keep its disk: {}", end.spec().instanceId(), e.getMessage());
      return "its disk cannot be kept: " + e.getMessage();
    }
  }

  /** Removes what was kept outside the instance's folders (a committed image). */
  static void discard(TrackedInstance tracked) {
    KeptDisk kept = tracked.kept;
    if (kept != null && kept.image() != null && tracked.keeper != null) {
      tracked.keeper.discard(new KeptDisk(null, kept.image()));
    }
    tracked.kept = null;
  }
}
