package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.InstanceBackendContract;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libvirt backend keeps the contract on libvirt's in-process mock driver {@code
 * test:///default}.
 */
class LibvirtBackendContractTest extends InstanceBackendContract {
  @TempDir Path root;

  private ManagerConfig config;
  private Revision revision;

  @BeforeEach
  void machine() throws Exception {
    config = LibvirtTestConfig.at(root, "test:///default");
    Path dir = Files.createDirectories(root.resolve("machines/vm/vm-1.0"));
    Files.writeString(dir.resolve("vmlinuz"), "not really a kernel");
    revision = new Revision("vm", "1.0", dir, manifest("vmlinuz"));
  }

  private static Manifest manifest(String kernel) {
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
        List.of(),
        null,
        null,
        kernel,
        null,
        "quiet",
        null,
        null);
  }

  @Override
  protected InstanceBackend makeBackend() {
    return new LibvirtBackend(config);
  }

  @Override
  protected LaunchSpec launchable(String id) throws Exception {
    return new LaunchSpec(
        id, revision, Files.createDirectories(root.resolve("instances").resolve(id)), 10001);
  }

  @Override
  protected LaunchSpec broken(String id) throws Exception {
    Revision missing = new Revision("vm", "1.0", revision.dir(), manifest("no-such-kernel"));
    return new LaunchSpec(
        id, missing, Files.createDirectories(root.resolve("instances").resolve(id)), 10001);
  }
}
