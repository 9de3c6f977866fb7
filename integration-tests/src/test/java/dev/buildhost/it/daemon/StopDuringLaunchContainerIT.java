package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.StartRequest;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 item 5 with the real Docker backend: a terminate that comes while the instance is
 * STARTING and its guest is being launched. The launch goes through a backend that hands each call
 * to the real {@link DockerBackend}, and whose launch waits on a latch after the container was
 * created and started, before it returns the guest (as a slow launch would): the test decides when
 * the terminate comes, no sleeps. The terminate is answered at once, the started container is ended
 * as soon as the launch returns it, and the instance ends TERMINATED with nothing left.
 */
class StopDuringLaunchContainerIT {

  private static final Duration PROMPT = Duration.ofSeconds(10);

  @TempDir Path root;
  private ManagerConfig config;
  private InstanceManager manager;
  private DockerClient docker;
  private final CountDownLatch launched = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);

  /** Whether the launch waits before the real launch (else after it, before returning). */
  private volatile boolean blockBeforeLaunch;

  @BeforeEach
  void open() {
    docker = Daemons.docker();
    Manifest manifest = Samples.manifest(Samples.CONTAINER);
    Path dir = Samples.revision(Samples.CONTAINER);
    String folder = dir.getFileName().toString();
    Revision sample =
        new Revision(
            manifest.name(), folder.substring(manifest.name().length() + 1), dir, manifest);
    int first = 24000 + (int) (ProcessHandle.current().pid() % 50) * 100;
    config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            first,
            first + 9,
            4,
            16384,
            Duration.ofMinutes(5),
            Duration.ofSeconds(2),
            Acceleration.TCG,
            "qemu:///system",
            "unix:///var/run/docker.sock",
            "host");
    manager =
        InstanceManager.open(
            config, machine -> sample, List.of(new SlowLaunch(new DockerBackend(config))));
  }

  @AfterEach
  void close() throws Exception {
    release.countDown();
    if (manager != null) {
      manager.close();
    }
    try {
      for (Container container : containers()) {
        docker.removeContainerCmd(container.getId()).withForce(true).exec();
      }
    } finally {
      docker.close();
    }
  }

  @Test
  void aTerminateBeforeTheContainerIsCreatedEndsTheInstanceOnceTheLaunchReturns() throws Exception {
    blockBeforeLaunch = true;
    terminateDuringTheLaunch(InstanceState.STARTING, 0);
  }

  @Test
  void aTerminateWhileTheStartedContainerIsNotHandedOverYetEndsIt() throws Exception {
    blockBeforeLaunch = false;
    terminateDuringTheLaunch(InstanceState.RUNNING, 1);
  }

  /**
   * Starts an instance, terminates it while the launch waits (before or after the real launch),
   * then lets the launch return.
   */
  private void terminateDuringTheLaunch(InstanceState seen, int containersSeen) throws Exception {
    ExecutorService starter = Executors.newSingleThreadExecutor();
    try {
      Future<Instance> start =
          starter.submit(() -> manager.start(StartRequest.of(Samples.CONTAINER)));
      assertTrue(launched.await(3, TimeUnit.MINUTES), "the launch is under way");
      Instance starting = manager.list().get(0);
      assertEquals(seen, starting.state());
      assertEquals(containersSeen, running(), "containers running while the launch waits");

      Instance asked = assertTimeoutPreemptively(PROMPT, () -> manager.terminate(starting.id()));
      assertEquals(InstanceState.STOPPING, asked.state());
      assertEquals(
          ManagerException.Kind.CONFLICT,
          assertTimeoutPreemptively(
                  PROMPT,
                  () -> assertThrows(ManagerException.class, () -> manager.delete(starting.id())))
              .kind());

      release.countDown();
      Instance answered = start.get(3, TimeUnit.MINUTES);
      assertFalse(
          answered.state() == InstanceState.STARTING || answered.state() == InstanceState.RUNNING,
          "not overwritten back: " + answered);
      Instance stopped =
          Awaitility.await("the instance stops")
              .atMost(Duration.ofMinutes(1))
              .until(() -> manager.get(starting.id()), i -> i.state() == InstanceState.STOPPED);
      assertEquals(EndReason.TERMINATED, stopped.endReason(), stopped.toString());
      Awaitility.await("the launched container is removed right after STOPPED")
          .atMost(Duration.ofSeconds(30))
          .until(() -> containers().isEmpty());
      assertTrue(portFree(stopped.tftpPort()), "its TFTP port is free");
      manager.delete(starting.id());
    } finally {
      starter.shutdownNow();
    }
  }

  private long running() {
    return containers().stream().filter(c -> "running".equals(c.getState())).count();
  }

  private List<Container> containers() {
    return docker
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(
            Map.of(DockerBackend.LABEL_ROOT, root.toAbsolutePath().normalize().toString()))
        .exec();
  }

  private static boolean portFree(int port) {
    try (DatagramSocket socket =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      return socket.isBound();
    } catch (SocketException e) {
      return false;
    }
  }

  /** The Docker backend, whose launch returns the started guest only when the test says so. */
  private final class SlowLaunch implements InstanceBackend {
    private final DockerBackend docker;

    SlowLaunch(DockerBackend docker) {
      this.docker = docker;
    }

    @Override
    public MachineType type() {
      return docker.type();
    }

    @Override
    public Guest launch(LaunchSpec spec, GuestListener listener) throws BackendException {
      if (blockBeforeLaunch) {
        awaitRelease();
        return docker.launch(spec, listener);
      }
      Guest guest = docker.launch(spec, listener);
      awaitRelease();
      return guest;
    }

    private void awaitRelease() {
      launched.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public Set<String> ourInstanceIds() throws BackendException {
      return docker.ourInstanceIds();
    }

    @Override
    public Guest adopt(LaunchSpec spec, GuestListener listener) throws BackendException {
      return docker.adopt(spec, listener);
    }

    @Override
    public void removeOrphan(String instanceId) throws BackendException {
      docker.removeOrphan(instanceId);
    }

    @Override
    public void close() {
      docker.close();
    }
  }
}
