package dev.buildhost.it.container;

import com.github.dockerjava.api.DockerClient;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.InstanceBackendContract;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** The Docker backend keeps the backend contract against the real dockerd. */
class DockerBackendContractContainerIT extends InstanceBackendContract {
  @TempDir Path root;

  private DockerClient docker;
  private ManagerConfig config;

  @BeforeEach
  void engine() {
    docker = Daemons.docker();
    config = ContainerFixtures.config(root, 16, Duration.ofSeconds(2));
  }

  @AfterEach
  void removeLeftovers() throws Exception {
    ContainerFixtures.removeContainers(docker, root);
    docker.close();
  }

  @Override
  protected InstanceBackend makeBackend() {
    return new DockerBackend(config);
  }

  @Override
  protected LaunchSpec launchable(String id) throws Exception {
    return new LaunchSpec(
        id,
        ContainerFixtures.sampleRunning("sleep 1000"),
        Files.createDirectories(root.resolve("instances").resolve(id)),
        1);
  }

  @Override
  protected LaunchSpec broken(String id) throws Exception {
    return new LaunchSpec(
        id,
        ContainerFixtures.ownMachine(root.resolve("machines"), "broken", "missing.tar", "true"),
        Files.createDirectories(root.resolve("instances").resolve(id)),
        1);
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(60);
  }
}
