package dev.buildhost.it.vm;

import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.libvirt.DomainXml;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error;
import org.libvirt.LibvirtException;

/**
 * The manager as the VM integration tests run it: a root of its own whose machines folder links to
 * the built samples, the real libvirtd at qemu:///system, and the acceleration probe (TCG on a host
 * without a working KVM). Guests are slow under TCG on a shared 2-core host: waits are long.
 */
final class VmFixture {
  static final Duration GUEST_TIMEOUT = Duration.ofMinutes(4);

  private VmFixture() {}

  /**
   * A root for one test whose {@code machines/sample-vm/sample-vm-1.0} mirrors the built sample:
   * its files are hard links to the sample's files (copies across file systems).
   */
  static Path root(Path dir) throws IOException {
    Samples.passableByQemu(dir);
    Path sample = Samples.revision(Samples.VM);
    Path machine = Files.createDirectories(dir.resolve("machines").resolve(Samples.VM));
    Path revision = Files.createDirectories(machine.resolve(sample.getFileName()));
    try (var files = Files.list(sample)) {
      for (Path file : files.toList()) {
        link(file, revision.resolve(file.getFileName()));
      }
    }
    Files.createSymbolicLink(machine.resolve(Samples.VM + "-1"), revision.getFileName());
    return dir;
  }

  private static void link(Path existing, Path link) throws IOException {
    try {
      Files.createLink(link, existing);
    } catch (IOException | UnsupportedOperationException e) {
      Files.copy(existing, link);
    }
  }

  static ManagerConfig config(Path root, int firstPort, int ports, Duration grace) {
    return new ManagerConfig(
        root,
        root.resolve("state"),
        firstPort,
        firstPort + ports - 1,
        8,
        8192,
        Duration.ofMinutes(30),
        grace,
        Acceleration.AUTO,
        Daemons.LIBVIRT_URI,
        "unix:///var/run/docker.sock",
        "host");
  }

  /**
   * A manager on the real libvirtd: a failure under CI, a skip elsewhere when libvirtd is absent.
   */
  static InstanceManager open(ManagerConfig config) throws LibvirtException {
    Daemons.libvirt().close();
    return InstanceManager.open(
        config, new MachineLibrary(config.machinesDir()), List.of(new LibvirtBackend(config)));
  }

  static StartRequest task(Duration timeout, String... commands) {
    return new StartRequest(
        Samples.VM,
        timeout,
        Map.of(
            TaskManifest.FILE_NAME,
            TaskManifest.of(commands).text().getBytes(StandardCharsets.UTF_8)));
  }

  static Instance awaitState(
      InstanceManager manager, String id, InstanceState state, Duration timeout) {
    try {
      Awaitility.await()
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> manager.get(id).state() == state);
    } catch (ConditionTimeoutException e) {
      fail(
          "instance "
              + id
              + " is still "
              + manager.get(id).state()
              + " after "
              + timeout.toSeconds()
              + " s, expected "
              + state
              + "; console:\n"
              + console(manager, id));
    }
    return manager.get(id);
  }

  /** Waits until the console log shows {@code text} (the guest reached that point). */
  static void awaitConsole(InstanceManager manager, String id, String text) {
    try {
      Awaitility.await()
          .atMost(GUEST_TIMEOUT)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> console(manager, id).contains(text));
    } catch (ConditionTimeoutException e) {
      fail("the console of " + id + " does not show '" + text + "':\n" + console(manager, id));
    }
  }

  static void awaitEvents(List<InstanceEvent> events, String id, InstanceEvent.Kind kind) {
    try {
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () ->
                  events.stream().anyMatch(e -> e.instance().id().equals(id) && e.kind() == kind));
    } catch (ConditionTimeoutException e) {
      fail("no " + kind + " event for " + id + "; events: " + events);
    }
  }

  static String console(InstanceManager manager, String id) {
    try (InputStream log = manager.openConsoleLog(id)) {
      return new String(log.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return "(no console log: " + e.getMessage() + ")";
    }
  }

  static boolean domainExists(String instanceId) throws LibvirtException {
    Connect libvirt = Daemons.libvirt();
    try {
      Domain domain = libvirt.domainLookupByName(DomainXml.domainName(instanceId));
      domain.free();
      return true;
    } catch (LibvirtException e) {
      if (e.getError().getCode() == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return false;
      }
      throw e;
    } finally {
      libvirt.close();
    }
  }

  static boolean overlayExists(ManagerConfig config, String instanceId) {
    return Files.exists(LaunchSpec.overlayDisk(config.instancesDir().resolve(instanceId)));
  }

  /** The overlay goes right after STOPPED is published (the guest is released after it). */
  static void awaitOverlayDeleted(ManagerConfig config, String instanceId) {
    Awaitility.await("the overlay of " + instanceId + " is deleted")
        .atMost(Duration.ofSeconds(30))
        .until(() -> !overlayExists(config, instanceId));
  }

  static boolean portFree(int port) {
    try (DatagramSocket socket =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      return socket.isBound();
    } catch (SocketException e) {
      return false;
    }
  }

  static Path baseDisk() {
    return Samples.revision(Samples.VM).resolve(Samples.manifest(Samples.VM).disk());
  }

  /** Removes whatever a failed test left running (domains of this root's instances). */
  static void destroyLeftovers(InstanceManager manager) {
    if (manager == null) {
      return;
    }
    for (Instance instance : manager.list()) {
      if (instance.state() != InstanceState.STOPPED) {
        try {
          manager.terminate(instance.id());
          awaitState(manager, instance.id(), InstanceState.STOPPED, Duration.ofSeconds(60));
        } catch (RuntimeException | AssertionError e) {
          System.err.println("clean-up of instance " + instance.id() + " failed: " + e);
        }
      }
    }
    manager.close();
  }
}
