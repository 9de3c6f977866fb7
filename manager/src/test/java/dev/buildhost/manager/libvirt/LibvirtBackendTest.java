package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;

/**
 * The backend against libvirt's in-process mock driver {@code test:///default}: domain creation,
 * labels, lifecycle events through the event loop, kill and release. The real libvirtd is exercised
 * by the integration tests.
 */
class LibvirtBackendTest {
  private static final String URI = "test:///default";

  @TempDir Path root;

  private LibvirtBackend backend;
  private Revision revision;
  private final List<String> heard = new CopyOnWriteArrayList<>();
  private final GuestListener listener = LibvirtTestConfig.recorder(heard);

  @BeforeEach
  void setUp() throws Exception {
    ManagerConfig config = LibvirtTestConfig.at(root, URI);
    backend = new LibvirtBackend(config);
    Path dir = Files.createDirectories(root.resolve("machines/vm/vm-1.0"));
    Files.writeString(dir.resolve("vmlinuz"), "not really a kernel");
    revision = revision(dir, List.of("virtio-rng"), "vmlinuz");
  }

  private static Revision revision(Path dir, List<String> options, String kernel) {
    return new Revision("vm", "1.0", dir, LibvirtTestConfig.manifest(kernel, options));
  }

  @AfterEach
  void tearDown() {
    backend.close();
  }

  private LaunchSpec spec(String id, Revision rev) throws Exception {
    return new LaunchSpec(
        id, rev, Files.createDirectories(root.resolve("instances").resolve(id)), 10001);
  }

  private static boolean exists(String id) throws Exception {
    Connect connect = new Connect(URI);
    try {
      for (Domain domain : connect.listAllDomains(0)) {
        if (domain.getName().equals(DomainXml.domainName(id))) {
          return true;
        }
      }
      return false;
    } finally {
      connect.close();
    }
  }

  private void awaitHeard(String what) {
    Awaitility.await("a '" + what + "' event; heard " + heard)
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> heard.contains(what));
  }

  @Test
  void aLaunchedDomainIsLabelledAndItsEndArrivesAsAnEvent() throws Exception {
    String id = "vm-20260101-000000-0001";
    Guest guest = backend.launch(spec(id, revision), listener);
    assertTrue(heard.contains("running"));
    assertTrue(exists(id));
    assertTrue(backend.ourInstanceIds().contains(id));
    assertFalse(backend.ourInstanceIds().contains("test"), "the driver's own domain is not ours");
    assertEquals("qemu", backend.accelerationChoice().domainType());

    guest.kill();
    awaitHeard("stopped " + EndReason.CRASHED);
    assertFalse(exists(id));
    guest.release();
    guest.release();
  }

  @Test
  void theGuestBootsACopyOfTheKernelInItsFolderThatGoesWithIt() throws Exception {
    String id = "vm-20260101-000000-0006";
    LaunchSpec spec = spec(id, revision);
    Guest guest = backend.launch(spec, listener);
    Path copy = spec.instanceDir().resolve(BootFiles.KERNEL);
    assertEquals("not really a kernel", Files.readString(copy));
    Connect connect = new Connect(URI);
    try {
      Domain domain = connect.domainLookupByName(DomainXml.domainName(id));
      String xml = domain.getXMLDesc(0);
      assertTrue(xml.contains("<kernel>" + copy + "</kernel>"), xml);
    } finally {
      connect.close();
    }

    guest.kill();
    awaitHeard("stopped " + EndReason.CRASHED);
    guest.release();
    assertFalse(Files.exists(copy), "the copy ends with the guest");
    assertTrue(Files.exists(revision.dir().resolve("vmlinuz")), "the revision's own stays");
  }

  @Test
  void aGuestCanBeAdoptedByAnotherBackendAndOrphansAreRemoved() throws Exception {
    String id = "vm-20260101-000000-0002";
    String orphan = "vm-20260101-000000-0003";
    List<String> firstListener = new CopyOnWriteArrayList<>();
    backend.launch(spec(id, revision), LibvirtTestConfig.recorder(firstListener));
    backend.launch(spec(orphan, revision), LibvirtTestConfig.recorder(firstListener));
    assertTrue(backend.ourInstanceIds().containsAll(List.of(id, orphan)));

    Guest adopted = backend.adopt(spec(id, revision), listener);
    backend.removeOrphan(orphan);
    assertFalse(exists(orphan));
    adopted.kill();
    awaitHeard("stopped " + EndReason.CRASHED);
    assertThrows(BackendException.class, () -> backend.adopt(spec(id, revision), listener));
  }

  @Test
  void domainsOfAnotherManagerAreNotOurs() throws Exception {
    ManagerConfig otherConfig =
        new ManagerConfig(
            root,
            root.resolve("other-state"),
            10000,
            10010,
            4,
            4096,
            Duration.ofHours(1),
            Duration.ofSeconds(5),
            Acceleration.TCG,
            URI,
            "unix:///nonexistent",
            "host");
    String id = "vm-20260101-000000-0005";
    try (LibvirtBackend other = new LibvirtBackend(otherConfig)) {
      other.launch(spec(id, revision), listener);
      assertTrue(other.ourInstanceIds().contains(id));
      assertFalse(backend.ourInstanceIds().contains(id), "another state folder, another owner");
      assertThrows(BackendException.class, () -> backend.adopt(spec(id, revision), listener));
      other.removeOrphan(id);
      assertFalse(exists(id));
    }
  }

  @Test
  void refusedOptionsAndMissingFilesCreateNothing() throws Exception {
    String id = "vm-20260101-000000-0004";
    BackendException refused =
        assertThrows(
            BackendException.class,
            () ->
                backend.launch(
                    spec(id, revision(revision.dir(), List.of("-device virtio-9p"), "vmlinuz")),
                    listener));
    assertTrue(refused.getMessage().contains("'-device'"), refused.getMessage());
    BackendException missing =
        assertThrows(
            BackendException.class,
            () ->
                backend.launch(spec(id, revision(revision.dir(), List.of(), "bzImage")), listener));
    assertTrue(missing.getMessage().contains("bzImage"), missing.getMessage());
    BackendException nothing =
        assertThrows(
            BackendException.class,
            () -> backend.launch(spec(id, revision(revision.dir(), List.of(), null)), listener));
    assertTrue(nothing.getMessage().contains("neither a disk nor a kernel"), nothing.getMessage());
    assertFalse(exists(id));
    assertTrue(heard.isEmpty());
  }

  @Test
  void anUnreachableLibvirtdIsAClearBackendError() {
    ManagerConfig config =
        LibvirtTestConfig.at(root, "qemu+unix:///system?socket=/nonexistent/sock");
    try (LibvirtBackend unreachable = new LibvirtBackend(config)) {
      BackendException e = assertThrows(BackendException.class, unreachable::ourInstanceIds);
      assertTrue(e.getMessage().contains("libvirtd"), e.getMessage());
    }
  }
}
