package dev.buildhost.manager.backend;

import dev.buildhost.manager.model.EndReason;

/** How a backend reports a guest's life to the instance lifecycle; called from backend threads. */
public interface GuestListener {

  /** The guest is running (domain started / container started). */
  void onRunning();

  /**
   * The guest is gone for good.
   *
   * @param reason POWEROFF for a clean exit, CRASHED for an unexpected end
   * @param exitCode the container's exit code; null for VMs
   */
  void onStopped(EndReason reason, Integer exitCode);
}
