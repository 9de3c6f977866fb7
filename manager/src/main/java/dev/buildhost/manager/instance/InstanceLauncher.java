package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import dev.buildhost.manager.tftp.InstanceTftpServers;
import dev.buildhost.manager.tftp.NoFreePortException;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Launches a reserved instance: its folders and files, its TFTP server, then its guest. A start
 * refused for lack of a port leaves nothing; any other failure ends the instance as
 * FAILED_TO_START.
 */
final class InstanceLauncher {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceLauncher.class);

  private final InstanceRegistry registry;
  private final InstanceTftpServers tftp;
  private final PreparedLaunches prepared;
  private final InstanceLifecycle lifecycle;

  InstanceLauncher(
      InstanceRegistry registry,
      InstanceTftpServers tftp,
      PreparedLaunches prepared,
      InstanceLifecycle lifecycle) {
    this.registry = registry;
    this.tftp = tftp;
    this.prepared = prepared;
    this.lifecycle = lifecycle;
  }

  /** Caller holds the instance's lock. Returns the instance as launched (RUNNING or STARTING). */
  Instance launch(TrackedInstance tracked, InstanceBackend backend, StartRequest request) {
    String id = tracked.id();
    try {
      Files.createDirectories(tracked.tftpDir);
      Files.createDirectories(tracked.instanceDir);
      for (Map.Entry<String, byte[]> file : request.files().entrySet()) {
        InstanceFiles.put(tracked.tftpDir, file.getKey(), file.getValue());
      }
      tracked.server = startTftp(tracked);
      lifecycle.launching(tracked);
      LOG.info(
          "instance {}: starting {} {} (TFTP port {}, timeout at {}{})",
          id,
          tracked.revision.machine(),
          tracked.revision.version(),
          tracked.snapshot().tftpPort(),
          tracked.deadline,
          tracked.preparedPort > 0 ? ", prepared ahead" : "");
      LaunchSpec spec =
          new LaunchSpec(
              id,
              tracked.revision,
              tracked.instanceDir,
              tracked.snapshot().tftpPort(),
              tracked.options.layer());
      tracked.spec = spec;
      tracked.keeper = backend instanceof KeepsGuestDisk keeper ? keeper : null;
      lifecycle.launched(tracked, backend.launch(spec, lifecycle.listenerFor(tracked)));
      prepared.prepareSoon(tracked.revision);
      return tracked.snapshot();
    } catch (NoFreePortException e) {
      prepared.discardTaken(tracked.revision, id);
      discard(tracked);
      throw new ManagerException(ManagerException.Kind.NO_CAPACITY, e.getMessage(), e);
    } catch (BackendException | IOException | RuntimeException e) {
      prepared.discardTaken(tracked.revision, id);
      String message =
          "cannot start machine " + tracked.revision.machine() + ": " + InstanceManager.describe(e);
      lifecycle.failStart(tracked, message);
      throw new ManagerException(ManagerException.Kind.BACKEND_FAILED, message, e);
    }
  }

  /**
   * The instance's TFTP server: on the port of its prepared launch, else on a free port. When no
   * port is free, the ports of the launches prepared for other machines are taken back first.
   */
  private TftpServer startTftp(TrackedInstance tracked) throws IOException {
    if (tracked.preparedPort > 0) {
      try {
        return tftp.startOn(tracked.tftpDir, tracked.preparedPort, lifecycle.uploads(tracked));
      } catch (IOException e) {
        // Another program took the port meanwhile. The spec the backend gets then differs from
        // the prepared one, so it creates the guest afresh.
        LOG.info(
            "instance {}: its prepared TFTP port {} is taken ({}); using another",
            tracked.id(),
            tracked.preparedPort,
            e.getMessage());
        tftp.pool().release(tracked.preparedPort);
        tracked.preparedPort = 0;
      }
    }
    try {
      return tftp.start(tracked.tftpDir, lifecycle.uploads(tracked));
    } catch (NoFreePortException e) {
      if (!prepared.discardAll()) {
        throw e;
      }
      return tftp.start(tracked.tftpDir, lifecycle.uploads(tracked));
    }
  }

  /**
   * Undoes a start refused for lack of capacity before anything ran: like other refusals, it leaves
   * nothing.
   */
  private void discard(TrackedInstance tracked) {
    registry.remove(tracked.id());
    try {
      InstanceFiles.deleteTree(tracked.tftpDir);
      InstanceFiles.deleteTree(tracked.instanceDir);
    } catch (IOException e) {
      LOG.warn(
          "instance {}: cannot remove the folders of a refused start: {}",
          tracked.id(),
          e.getMessage());
    }
  }
}
