package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.InstanceBackendContract;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Revision;
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
    revision = LibvirtTestConfig.revision(root);
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
    Revision missing =
        new Revision(
            "vm", "1.0", revision.dir(), LibvirtTestConfig.manifest("no-such-kernel", List.of()));
    return new LaunchSpec(
        id, missing, Files.createDirectories(root.resolve("instances").resolve(id)), 10001);
  }
}
