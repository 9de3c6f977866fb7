package dev.buildhost.it.vm;

import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.InstanceBackendContract;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libvirt backend keeps the backend contract against the real libvirtd, with real sample-vm
 * guests.
 */
class LibvirtBackendContractVmIT extends InstanceBackendContract {
  @TempDir Path dir;

  private ManagerConfig config;
  private Revision revision;

  @BeforeEach
  void libvirtd() throws Exception {
    Daemons.libvirt().close();
    Path root = VmFixture.root(dir);
    config = VmFixture.config(root, 47300, 20, Duration.ofSeconds(5));
    Manifest manifest = Samples.manifest(Samples.VM);
    Path revisionDir =
        root.resolve("machines")
            .resolve(Samples.VM)
            .resolve(Samples.revision(Samples.VM).getFileName());
    revision =
        new Revision(
            Samples.VM,
            revisionDir.getFileName().toString().substring(Samples.VM.length() + 1),
            revisionDir,
            manifest);
  }

  @Override
  protected InstanceBackend makeBackend() {
    return new LibvirtBackend(config);
  }

  @Override
  protected LaunchSpec launchable(String id) throws Exception {
    return new LaunchSpec(
        id,
        revision,
        Files.createDirectories(config.instancesDir().resolve(id)),
        config.tftpPortFirst());
  }

  @Override
  protected LaunchSpec broken(String id) throws Exception {
    Manifest m = revision.manifest();
    Manifest noKernel =
        new Manifest(
            m.id(),
            m.name(),
            m.summary(),
            m.type(),
            m.role(),
            m.ramMinimumMib(),
            m.ramMaximumMib(),
            m.cpus(),
            m.mac(),
            m.options(),
            m.changes(),
            "no-such-disk.qcow2",
            "no-such-kernel",
            m.initrd(),
            m.cmdline(),
            m.image(),
            m.command());
    return new LaunchSpec(
        id,
        new Revision(revision.machine(), revision.version(), revision.dir(), noKernel),
        Files.createDirectories(config.instancesDir().resolve(id)),
        config.tftpPortFirst());
  }

  @Override
  protected Duration patience() {
    return VmFixture.GUEST_TIMEOUT;
  }
}
