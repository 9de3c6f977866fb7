package dev.buildhost.manager.instance;

import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;

/** Revisions, configurations and waiting for the lifecycle tests. */
final class TestMachines {
  private TestMachines() {}

  static Manifest manifest(String name, Long ramMib) {
    return new Manifest(
        "0123",
        name,
        "a test machine",
        MachineType.KVM,
        "build",
        ramMib,
        null,
        1,
        null,
        List.of(),
        null,
        "disk.qcow2",
        null,
        null,
        null,
        null,
        null);
  }

  static Revision revision(Path root, String name, Long ramMib) {
    return new Revision(
        name,
        "1.0",
        root.resolve("machines").resolve(name).resolve(name + "-1.0"),
        manifest(name, ramMib));
  }

  /** A configuration on {@code root} whose TFTP range is {@code ports} ports from a random base. */
  static ManagerConfig config(
      Path root, int ports, int maxInstances, long ramBudgetMib, Duration grace) {
    int first = 20000 + (int) (Math.random() * 20000);
    return new ManagerConfig(
        root,
        root.resolve("state"),
        first,
        first + ports - 1,
        maxInstances,
        ramBudgetMib,
        Duration.ofHours(1),
        grace,
        Acceleration.TCG,
        "test:///default",
        "unix:///nonexistent",
        "host");
  }

  /** Whether a UDP socket can bind the loopback port (no TFTP server holds it). */
  static boolean portFree(int port) {
    try (DatagramSocket socket =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      return socket.isBound();
    } catch (SocketException e) {
      return false;
    }
  }

  /**
   * Waits for the lifecycle's own threads to apply what the test caused; no time passes on the
   * manager's clock.
   */
  static void await(String what, BooleanSupplier condition) {
    Awaitility.await(what)
        .atMost(Duration.ofSeconds(15))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(condition::getAsBoolean);
  }
}
