package dev.buildhost.it.vm;

import static dev.buildhost.it.vm.VmFixture.awaitState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU runs as libvirt's own user (libvirt-qemu), to whom libvirt gives the files a domain uses
 * while it runs. A revision's files are shared by all its instances (and here, through hard links,
 * by the built samples): they keep their owner and mode while two instances of the revision run,
 * when one ends and after both, and QEMU's user reads them all along.
 */
class SharedRevisionVmIT {
  private static final String QEMU_USER = "libvirt-qemu";

  @TempDir Path dir;

  private InstanceManager manager;

  @AfterEach
  void cleanUp() {
    VmFixture.destroyLeftovers(manager);
  }

  @Test
  void aRevisionsFilesKeepTheirOwnerAndStayReadableWhileItsInstancesComeAndGo() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("reading as " + QEMU_USER + " needs root (runuser)");
    }
    Requirement.command("runuser");
    ManagerConfig config = VmFixture.config(VmFixture.root(dir), 47700, 20, Duration.ofSeconds(5));
    manager = VmFixture.open(config);
    Path revision =
        config.machinesDir().resolve(Samples.VM).resolve(Samples.VM + "-1").toRealPath();
    Map<String, String> before = ownersAndModes(revision);

    Instance ending = manager.start(VmFixture.task(null, "sleep 600"));
    Instance lasting = manager.start(VmFixture.task(null, "sleep 600"));
    VmFixture.awaitConsole(manager, ending.id(), "running ");
    VmFixture.awaitConsole(manager, lasting.id(), "running ");
    assertEquals(before, ownersAndModes(revision), "while two instances of the revision run");

    manager.terminate(ending.id());
    awaitState(manager, ending.id(), InstanceState.STOPPED, Duration.ofSeconds(90));
    assertEquals(InstanceState.RUNNING, manager.get(lasting.id()).state());
    assertEquals(before, ownersAndModes(revision), "after one of them ended");
    assertReadableByQemu(revision);

    manager.terminate(lasting.id());
    awaitState(manager, lasting.id(), InstanceState.STOPPED, Duration.ofSeconds(90));
    assertEquals(before, ownersAndModes(revision), "after both ended");
    assertReadableByQemu(revision);
  }

  /** Each file of the folder: "owner:group mode". */
  private static Map<String, String> ownersAndModes(Path folder) throws Exception {
    Map<String, String> files = new TreeMap<>();
    try (var list = Files.list(folder)) {
      for (Path file : list.toList()) {
        PosixFileAttributes attributes =
            Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        files.put(
            file.getFileName().toString(),
            attributes.owner().getName()
                + ":"
                + attributes.group().getName()
                + " "
                + PosixFilePermissions.toString(attributes.permissions()));
      }
    }
    assertTrue(files.containsKey("vmlinuz"), "the sample boots a kernel: " + files);
    return files;
  }

  private static void assertReadableByQemu(Path folder) throws Exception {
    List<String> unreadable = new ArrayList<>();
    try (var list = Files.list(folder)) {
      for (Path file : list.toList()) {
        Process test =
            new ProcessBuilder("runuser", "-u", QEMU_USER, "--", "test", "-r", file.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(test.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(test.waitFor(30, TimeUnit.SECONDS), "runuser test -r " + file);
        if (test.exitValue() != 0) {
          unreadable.add(file + " " + output.strip());
        }
      }
    }
    assertEquals(List.of(), unreadable, QEMU_USER + " cannot read these");
  }
}
