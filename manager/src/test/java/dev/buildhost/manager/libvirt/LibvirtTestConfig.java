package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the libvirt backend's unit tests share: the manager settings (only the libvirt URI differs),
 * a machine that boots a kernel, and a listener that records what it hears.
 */
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

  /** A guest listener that adds "running" and "stopped REASON" to {@code into}. */
  static GuestListener recorder(List<String> into) {
    return new GuestListener() {
      @Override
      public void onRunning() {
        into.add("running");
      }

      @Override
      public void onStopped(EndReason reason, Integer exitCode) {
        into.add("stopped " + reason);
      }
    };
  }

  /** The manifest of a machine booting {@code kernel} with these options. */
  static Manifest manifest(String kernel, List<String> options) {
    return new Manifest(
        "1",
        "vm",
        "test",
        MachineType.KVM,
        "build",
        128L,
        null,
        1,
        null,
        options,
        null,
        null,
        kernel,
        null,
        "quiet",
        null,
        null);
  }

  /** Revision 1.0 of machine vm under {@code root}, booting a kernel file of its own. */
  static Revision revision(Path root) throws IOException {
    Path dir = Files.createDirectories(root.resolve("machines/vm/vm-1.0"));
    Files.writeString(dir.resolve("vmlinuz"), "not really a kernel");
    return new Revision("vm", "1.0", dir, manifest("vmlinuz", List.of()));
  }
}
