package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.instance.VirtualTime;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.event.ConnectionCloseReason;

/**
 * The backend's guests across a lost connection to libvirtd, in virtual time, on libvirt's mock
 * driver. libvirt's close callback is played by calling {@code onClosed} as libvirt does; the real
 * libvirtd restart is {@code LibvirtdRestartVmIT}'s.
 */
class LibvirtBackendReconnectTest {
  @TempDir Path root;

  private final VirtualTime time = new VirtualTime(Instant.parse("2026-03-01T12:00:00Z"));
  private final List<String> heard = new CopyOnWriteArrayList<>();
  private final GuestListener listener = LibvirtTestConfig.recorder(heard);
  private Revision revision;

  @BeforeEach
  void machine() throws Exception {
    revision = LibvirtTestConfig.revision(root);
  }

  private LibvirtBackend backend(String uri) {
    return new LibvirtBackend(LibvirtTestConfig.at(root, uri), Optional.empty(), time.scheduler());
  }

  private LaunchSpec spec(String id) throws Exception {
    return new LaunchSpec(
        id, revision, Files.createDirectories(root.resolve("instances").resolve(id)), 10001);
  }

  private void awaitHeard(List<String> expected) {
    Awaitility.await("reports " + expected + "; heard " + heard)
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> heard.equals(expected));
  }

  @Test
  void aGuestWhoseDomainEndedWhileLibvirtdWasAwayIsReportedCrashedOnceBack() throws Exception {
    // A node file of the mock driver: each connection to it has its own domains, as a restarted
    // libvirtd has none of the guests that ended meanwhile; without the file, connecting fails.
    Path node = root.resolve("node.xml");
    Files.writeString(node, "<node/>");
    String id = "vm-20260101-000000-0101";
    try (LibvirtBackend backend = backend("test://" + node)) {
      backend.launch(spec(id), listener);
      Connect lost = backend.connection().get();
      Files.delete(node);
      backend.connection().onClosed(lost, ConnectionCloseReason.KEEPALIVE);
      time.advance(Duration.ZERO);
      assertEquals(List.of("running"), heard, "libvirtd is away: nobody can tell yet");

      Files.writeString(node, "<node/>");
      time.advance(LibvirtConnection.FIRST_RECONNECT_DELAY);

      awaitHeard(List.of("running", "stopped " + EndReason.CRASHED));
      assertFalse(backend.ourInstanceIds().contains(id));
    }
  }

  @Test
  void aGuestThatRunsOnIsDrivenThroughTheNewConnection() throws Exception {
    // test:///default keeps its domains while a connection to it is open, as libvirtd keeps its
    // domains across a restart: this one stays open.
    Connect libvirtd = new Connect("test:///default");
    String id = "vm-20260101-000000-0102";
    try (LibvirtBackend backend = backend("test:///default")) {
      Guest guest = backend.launch(spec(id), listener);
      Connect lost = backend.connection().get();
      backend.connection().onClosed(lost, ConnectionCloseReason.EOF);
      time.advance(Duration.ZERO);
      assertTrue(backend.ourInstanceIds().contains(id));

      guest.shutdown();

      // Had the catch-up reported it CRASHED, the POWEROFF its event brings would not be passed on.
      awaitHeard(List.of("running", "stopped " + EndReason.POWEROFF));
      guest.release();
    } finally {
      libvirtd.close();
    }
  }
}
