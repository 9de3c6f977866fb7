package dev.buildhost.manager.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonTest {

  @TempDir Path root;

  static void await(Daemon daemon, String id, InstanceState state) {
    Awaitility.await(id + " reaches " + state)
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> daemon.manager().get(id).state() == state);
  }

  static StartRequest sleeper() {
    return new StartRequest(
        TestDaemons.MACHINE,
        null,
        Map.of("task.manifest", "command: sleep\n".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aSecondDaemonOnTheSameStateFolderIsRefused() throws Exception {
    try (Daemon first = TestDaemons.start(root, ApiServer.Limits.DEFAULT)) {
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  Daemon.start(
                      TestDaemons.settings(root, 2),
                      config -> List.of(new WorkerBackend()),
                      ApiServer.Limits.DEFAULT));
      assertTrue(
          e.getMessage()
              .contains("another buildhost daemon (pid " + ProcessHandle.current().pid() + ")"),
          e.getMessage());
      assertTrue(Files.exists(root.resolve("state/api.json")), "the first daemon's api.json stays");
      assertTrue(first.url().getPort() > 0);
    }
    assertFalse(Files.exists(root.resolve("state/api.json")), "a clean exit withdraws api.json");
  }

  @Test
  void aDaemonListeningOnEveryAddressTellsClientsTheLoopbackAddress() throws Exception {
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    DaemonSettings base = TestDaemons.settings(root, 2);
    DaemonSettings everyAddress =
        new DaemonSettings(base.manager(), new InetSocketAddress(0), null, false);
    try (Daemon daemon =
        Daemon.start(
            everyAddress, config -> List.of(new WorkerBackend()), ApiServer.Limits.DEFAULT)) {
      String endpoint = Files.readString(root.resolve("state/api.json"));
      assertTrue(
          endpoint.contains("\"http://127.0.0.1:" + daemon.url().getPort() + "\""), endpoint);
      assertEquals("127.0.0.1", daemon.url().getHost());
    }
  }

  @Test
  void aTakenApiPortIsNamedWithWhatToDo() throws Exception {
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      DaemonSettings base = TestDaemons.settings(root, 2);
      DaemonSettings settings =
          new DaemonSettings(
              base.manager(),
              new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort()),
              null,
              false);
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  Daemon.start(
                      settings, config -> List.of(new WorkerBackend()), ApiServer.Limits.DEFAULT));
      assertTrue(
          e.getMessage().contains("cannot serve the API on 127.0.0.1:" + taken.getLocalPort()),
          e.getMessage());
      assertTrue(e.getMessage().contains("--listen"), e.getMessage());
    }
    // The failed start released its lock: a daemon starts now.
    Daemon.start(
            TestDaemons.settings(root, 2),
            config -> List.of(new WorkerBackend()),
            ApiServer.Limits.DEFAULT)
        .close();
  }

  @Test
  void onExitInstancesKeepRunningAndTheNextDaemonAdoptsThem() throws Exception {
    WorkerBackend backend = new WorkerBackend();
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    String id;
    try (Daemon daemon =
        Daemon.start(
            TestDaemons.settings(root, 2), config -> List.of(backend), ApiServer.Limits.DEFAULT)) {
      id = daemon.manager().start(sleeper()).id();
      await(daemon, id, InstanceState.RUNNING);
    }
    try (Daemon daemon =
        Daemon.start(
            TestDaemons.settings(root, 2), config -> List.of(backend), ApiServer.Limits.DEFAULT)) {
      Instance adopted = daemon.manager().get(id);
      assertEquals(InstanceState.RUNNING, adopted.state(), adopted.toString());
    }
  }

  @Test
  void withStopInstancesOnExitTheyArePoweredOff() throws Exception {
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    DaemonSettings base = TestDaemons.settings(root, 2);
    DaemonSettings settings = new DaemonSettings(base.manager(), base.listen(), null, true);
    Daemon daemon =
        Daemon.start(settings, config -> List.of(new WorkerBackend()), ApiServer.Limits.DEFAULT);
    String id = daemon.manager().start(sleeper()).id();
    await(daemon, id, InstanceState.RUNNING);
    daemon.close();
    assertEquals(InstanceState.STOPPED, daemon.manager().get(id).state());
  }

  @Test
  void withStopInstancesOnExitAnUnknownInstanceIsLeftToTheOperatorAndDoesNotHoldTheExit()
      throws Exception {
    WorkerBackend backend = new WorkerBackend();
    TestDaemons.addMachine(root, TestDaemons.MACHINE);
    DaemonSettings base = TestDaemons.settings(root, 2);
    String id;
    try (Daemon daemon = Daemon.start(base, config -> List.of(backend), ApiServer.Limits.DEFAULT)) {
      id = daemon.manager().start(sleeper()).id();
      await(daemon, id, InstanceState.RUNNING);
    }
    Files.writeString(
        base.manager().stateDir().resolve("instances").resolve(id + ".json"), "{ torn");
    ManagerConfig c = base.manager();
    ManagerConfig patient =
        new ManagerConfig(
            c.root(),
            c.stateDir(),
            c.tftpPortFirst(),
            c.tftpPortLast(),
            c.maxInstances(),
            c.ramBudgetMib(),
            c.defaultTimeout(),
            Duration.ofHours(1), // an UNKNOWN instance waited for would hold the exit this long
            c.acceleration(),
            c.libvirtUri(),
            c.dockerHost(),
            c.dockerNetworkMode());
    Daemon daemon =
        Daemon.start(
            new DaemonSettings(patient, base.listen(), null, true),
            config -> List.of(backend),
            ApiServer.Limits.DEFAULT);
    assertEquals(InstanceState.UNKNOWN, daemon.manager().get(id).state());
    assertTimeoutPreemptively(Duration.ofMinutes(1), daemon::close);
    assertEquals(InstanceState.UNKNOWN, daemon.manager().get(id).state());
  }
}
