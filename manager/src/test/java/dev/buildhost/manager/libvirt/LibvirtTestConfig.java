package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import java.nio.file.Path;
import java.time.Duration;

/** The manager settings the libvirt backend's unit tests share; only the libvirt URI differs. */
final class LibvirtTestConfig {
  private LibvirtTestConfig() {}

  static ManagerConfig at(Path root, String libvirtUri) {
    return new ManagerConfig(
        root,
        root.resolve("state"),
        10000,
        10010,
        4,
        4096,
        Duration.ofHours(1),
        Duration.ofSeconds(5),
        Acceleration.TCG,
        libvirtUri,
        "unix:///nonexistent",
        "host");
  }
}
