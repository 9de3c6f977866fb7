package dev.buildhost.monitor.reboot;

/** What became of a reason to reboot, with the sentence that was logged. */
public record RebootOutcome(Kind kind, String message) {
  public enum Kind {
    /** The reboot command ran and succeeded: the host is going down. */
    REBOOTING,
    /** The rate cap forbade it; nothing was drained and nothing ran. */
    REFUSED,
    /**
     * The daemon is down while its guests may run, and reboot_when_daemon_down is not set: nothing
     * ran, nothing was recorded; the next check decides again.
     */
    WAITING,
    /** The reboot command failed; the drain was cancelled. */
    FAILED
  }
}
