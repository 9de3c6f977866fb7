package dev.buildhost.monitor.reboot;

/** What became of a reason to reboot, with the sentence that was logged. */
public record RebootOutcome(Kind kind, String message) {
  public enum Kind {
    /** The reboot command ran and succeeded: the host is going down. */
    REBOOTING,
    /** The rate cap forbade it; nothing was drained and nothing ran. */
    REFUSED,
    /**
     * The reboot waits: for a reboot slot of the fleet (none free, or etcd unreachable), or for the
     * daemon (down while its guests may run, and reboot_when_daemon_down not set). Nothing ran,
     * nothing was recorded; the next check decides again.
     */
    WAITING,
    /** The reboot command failed; the drain was cancelled. */
    FAILED
  }
}
