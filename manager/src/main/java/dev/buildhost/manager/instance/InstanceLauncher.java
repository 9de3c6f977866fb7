package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
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
 * FAILED_TO_START. The guest is launched without the instance's lock (see {@link #launch}).
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

  /**
   * Launches the reserved instance and returns it as launched: RUNNING or STARTING, or STOPPING or
   * STOPPED when a stop request came meanwhile. The instance's lock is held while its folders and
   * TFTP server are set up, not while the backend launches the guest (which may load an image or
   * create an overlay for a long time): a poweroff, terminate or delete meanwhile answers at once.
   * A stop request that comes before the launch ends the instance without a guest; one that comes
   * during the launch is carried out on the guest as soon as the launch returns it.
   */
  Instance launch(TrackedInstance tracked, InstanceBackend backend, StartRequest request) {
    LaunchSpec spec;
    synchronized (tracked) {
      if (tracked.state() != InstanceState.STARTING) {
        prepared.discardTaken(tracked.revision, tracked.id());
        lifecycle.endedBeforeLaunch(tracked);
        return tracked.snapshot();
      }
      spec = setUp(tracked, request);
      tracked.keeper = backend instanceof KeepsGuestDisk keeper ? keeper : null;
      tracked.launching = true;
    }
    Guest guest;
    try {
      guest = backend.launch(spec, lifecycle.listenerFor(tracked));
    } catch (BackendException | RuntimeException e) {
      synchronized (tracked) {
        tracked.launching = false;
        tracked.endReportedWhileLaunching = null;
        throw fail(tracked, e);
      }
    }
    synchronized (tracked) {
      tracked.launching = false;
      try {
        lifecycle.launched(tracked, guest);
      } catch (RuntimeException e) {
        throw fail(tracked, e);
      }
      prepared.prepareSoon(tracked.revision);
      return tracked.snapshot();
    }
  }

  /**
   * Caller holds the lock. The instance's folders, files and TFTP server; returns what the backend
   * is to launch. A start refused for lack of a port leaves nothing.
   */
  private LaunchSpec setUp(TrackedInstance tracked, StartRequest request) {
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
      return spec;
    } catch (NoFreePortException e) {
      prepared.discardTaken(tracked.revision, id);
      discard(tracked);
      throw new ManagerException(ManagerException.Kind.NO_CAPACITY, e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw fail(tracked, e);
    }
  }

  /** Caller holds the lock. Ends the instance as FAILED_TO_START; returns what to throw. */
  private ManagerException fail(TrackedInstance tracked, Exception e) {
    prepared.discardTaken(tracked.revision, tracked.id());
    String message =
        "cannot start machine " + tracked.revision.machine() + ": " + InstanceManager.describe(e);
    lifecycle.failStart(tracked, message);
    return new ManagerException(ManagerException.Kind.BACKEND_FAILED, message, e);
  }

  /**
   * The instance's TFTP server: on the port of its prepared launch, else on a free port. When no
   * port is free, the ports of the launches prepared for other machines are taken back first.
   */
  private TftpServer startTftp(TrackedInstance tracked) throws IOException {
    if (tracked.preparedPort > 0) {
      try {
        return tftp.startOn(
            tracked.tftpDir,
            tracked.preparedPort,
            tracked.revision.manifest(),
            lifecycle.uploads(tracked));
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
      return tftp.start(tracked.tftpDir, tracked.revision.manifest(), lifecycle.uploads(tracked));
    } catch (NoFreePortException e) {
      if (!prepared.discardAll()) {
        throw e;
      }
      return tftp.start(tracked.tftpDir, tracked.revision.manifest(), lifecycle.uploads(tracked));
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
