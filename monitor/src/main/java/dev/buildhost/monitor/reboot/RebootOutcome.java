package dev.buildhost.monitor.reboot;

/** What became of a reason to reboot, with the sentence that was logged. */
public record RebootOutcome(Kind kind, String message) {
  public enum Kind {
    /** The reboot command ran and succeeded: the host is going down. */
    REBOOTING,
    /** The rate cap forbade it; nothing was drained and nothing ran. */
    REFUSED,
    /** The reboot command failed; the drain was cancelled. */
    FAILED
  }
}
