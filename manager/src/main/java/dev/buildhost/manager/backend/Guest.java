package dev.buildhost.manager.backend;

/** A running VM domain or container, as the lifecycle drives it. */
public interface Guest {

  String instanceId();

  /** Ask the guest to stop (ACPI shutdown / SIGTERM); returns at once. */
  void shutdown();

  /** Stop it now (destroy / SIGKILL); returns at once. */
  void kill();

  /**
   * After the guest stopped: remove what the backend made for it (transient domain, container,
   * overlay disk). Idempotent.
   */
  void release();
}
