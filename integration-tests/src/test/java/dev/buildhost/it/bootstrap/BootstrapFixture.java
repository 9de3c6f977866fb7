package dev.buildhost.it.bootstrap;

import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.bootstrap.StateStore;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.MachineLibrary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A root for bootstrap tests: a copy (hard links) of a built sample machine under a name of the
 * test's own, a toolchain published as the monitor does it, and the manager with its bootstrapped
 * states over real backends.
 */
final class BootstrapFixture {

  static final String TOOLCHAIN = "stable";
  static final String ARCHIVE = "toolchain.tar";

  private BootstrapFixture() {}

  /**
   * {@code machines/NAME/NAME-1.0} holding the files of the built sample (hard links, so a check of
   * the disk's bytes checks the sample's), its manifest renamed; {@code NAME-1} in service.
   */
  static Path machine(Path root, String sample, String name) throws IOException {
    Path source = Samples.revision(sample);
    Path machine = Files.createDirectories(root.resolve("machines").resolve(name));
    Path revision = Files.createDirectories(machine.resolve(name + "-1.0"));
    try (var files = Files.list(source)) {
      for (Path file : files.toList()) {
        Path target = revision.resolve(file.getFileName());
        if (file.getFileName().toString().equals("manifest")) {
          Files.writeString(
              target,
              Files.readString(file).replaceFirst("(?m)^name: .*$", "name: " + name),
              StandardCharsets.UTF_8);
        } else {
          try {
            Files.createLink(target, file);
          } catch (IOException | UnsupportedOperationException e) {
            Files.copy(file, target);
          }
        }
      }
    }
    Files.createSymbolicLink(machine.resolve(name + "-1"), revision.getFileName());
    return revision;
  }

  /** Publishes toolchain NAME as the monitor does: its folder with the checksum file. */
  static Path publishToolchain(Path root, String name, String version) throws IOException {
    Path folder = Files.createDirectories(root.resolve("tftp").resolve("toolchain").resolve(name));
    return Files.writeString(
        folder.resolve("toolchain.sha256"),
        version + "  " + ARCHIVE + "\n",
        StandardCharsets.UTF_8);
  }

  /** A tar holding {@code marker} (its content names the toolchain version). */
  static byte[] toolchainTar(String version) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      byte[] content = ("toolchain " + version + "\n").getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry entry = new TarArchiveEntry("marker");
      entry.setMode(0644);
      entry.setSize(content.length);
      tar.putArchiveEntry(entry);
      tar.write(content);
      tar.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }

  /** A bootstrap task: install the archive, then the commands. */
  static byte[] bootstrapTask(String... commands) {
    StringBuilder text = new StringBuilder(": 1\nmode: bootstrap\ntoolchain: " + ARCHIVE + "\n");
    for (String command : commands) {
      text.append("command: ").append(command).append('\n');
    }
    return text.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A build task: the commands. */
  static byte[] buildTask(String... commands) {
    StringBuilder text = new StringBuilder(": 1\n");
    for (String command : commands) {
      text.append("command: ").append(command).append('\n');
    }
    return text.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The files of a bootstrap start: the task and the toolchain archive. */
  static Map<String, byte[]> bootstrapFiles(String version, String... commands) throws IOException {
    return Map.of("task.manifest", bootstrapTask(commands), ARCHIVE, toolchainTar(version));
  }

  /** The manager over the backend, and the bootstrapped states of its root. */
  record Opened(InstanceManager manager, Bootstraps bootstraps) implements AutoCloseable {
    @Override
    public void close() {
      manager.close();
    }
  }

  static Opened open(ManagerConfig config, InstanceBackend backend) {
    MachineLibrary library = new MachineLibrary(config.machinesDir());
    InstanceManager manager = InstanceManager.open(config, library::inService, List.of(backend));
    Bootstraps bootstraps =
        new Bootstraps(
            manager,
            library,
            new Toolchains(config.tftpDir().resolve("toolchain"), Map.of()),
            new StateStore(config.stateDir()),
            List.of((KeepsGuestDisk) backend),
            Clock.systemUTC());
    bootstraps.reconcile();
    return new Opened(manager, bootstraps);
  }
}
