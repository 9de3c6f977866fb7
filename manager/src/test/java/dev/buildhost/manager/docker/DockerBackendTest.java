package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the backend does without an engine (no daemon needed). */
class DockerBackendTest {

  @TempDir Path root;

  private DockerBackend backendOn(String dockerHost) {
    ManagerConfig d = ManagerConfig.defaults(root);
    return new DockerBackend(
        new ManagerConfig(
            d.root(),
            d.stateDir(),
            d.tftpPortFirst(),
            d.tftpPortLast(),
            d.maxInstances(),
            d.ramBudgetMib(),
            d.defaultTimeout(),
            d.poweroffGrace(),
            d.acceleration(),
            d.libvirtUri(),
            dockerHost,
            d.dockerNetworkMode()));
  }

  @Test
  void aMissingEngineIsAClearErrorOnUseNotOnConstruction() {
    String host = "unix://" + root.resolve("no-docker.sock");
    try (DockerBackend backend = backendOn(host)) {
      assertEquals(MachineType.DOCKER, backend.type());
      Manifest manifest =
          new Manifest(
              "id",
              "m",
              "s",
              MachineType.DOCKER,
              "build",
              null,
              null,
              null,
              null,
              List.of(),
              null,
              null,
              null,
              null,
              null,
              "image.tar",
              null);
      LaunchSpec spec =
          new LaunchSpec(
              "i1",
              new Revision("m", "1.0", root.resolve("m-1.0"), manifest),
              root.resolve("instances/i1"),
              10000);
      GuestListener ignored =
          new GuestListener() {
            @Override
            public void onRunning() {}

            @Override
            public void onStopped(EndReason reason, Integer exitCode) {}
          };
      for (BackendException e :
          List.of(
              assertThrows(BackendException.class, () -> backend.launch(spec, ignored)),
              assertThrows(BackendException.class, backend::ourInstanceIds),
              assertThrows(BackendException.class, () -> backend.removeOrphan("i1")))) {
        assertTrue(
            e.getMessage().startsWith("cannot reach the Docker engine at " + host + ": "),
            e.getMessage());
        assertTrue(e.getMessage().endsWith(" — is dockerd running?"), e.getMessage());
      }
    }
  }

  @Test
  void containerNamesCarryTheInstanceId() {
    assertEquals(
        "buildhost-sample-container-20261126-080000-ab12",
        DockerBackend.containerName("sample-container-20261126-080000-ab12"));
  }
}
