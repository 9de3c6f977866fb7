package dev.buildhost.manager.cli;

import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.network.BridgeNetwork;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The daemon verb's work, apart from its command class: picocli loads every verb's class to build
 * the command line, and the client verbs must not pull in the manager, libvirt or Docker through it
 * (ClientVerbClassesTest).
 */
final class DaemonRunner {

  private DaemonRunner() {}

  /** Runs the daemon until SIGTERM/SIGINT; returns only when it cannot start. */
  static int run(DaemonSettings settings, PrintWriter err) throws InterruptedException {
    Daemon daemon;
    try {
      daemon = Daemon.start(settings, DaemonRunner::backends, ApiServer.Limits.DEFAULT);
    } catch (IOException | ManagerException e) {
      err.println("buildhost daemon: " + e.getMessage());
      err.flush();
      return ExitCode.FAILED;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  daemon.close();
                  // A stop on SIGTERM/SIGINT is the daemon's normal end: exit 0, not the JVM's
                  // 128+signal.
                  Runtime.getRuntime().halt(ExitCode.OK);
                },
                "daemon-shutdown"));
    new CountDownLatch(1).await(); // until the shutdown hook ends the process
    return ExitCode.OK;
  }

  /**
   * The production backends: libvirt for kvm machines, Docker for docker ones; VMs go on the guest
   * bridge when there is one.
   */
  static List<InstanceBackend> backends(ManagerConfig config, Optional<BridgeNetwork> bridge) {
    return List.of(new LibvirtBackend(config, bridge), new DockerBackend(config, bridge));
  }
}
