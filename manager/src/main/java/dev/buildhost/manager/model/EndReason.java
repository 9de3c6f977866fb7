package dev.buildhost.manager.model;

/** Why an instance stopped. */
public enum EndReason {
  /** The guest powered itself off, or the container's command exited. */
  POWEROFF,
  /** Ended on request: poweroff after the grace period, or terminate. */
  TERMINATED,
  TIMEOUT,
  /** The hypervisor or engine reported a crash, or the guest vanished. */
  CRASHED,
  FAILED_TO_START
}
