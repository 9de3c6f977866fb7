package dev.buildhost.it.container;

import static dev.buildhost.it.container.ContainerFixtures.SAMPLE_TAG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.it.support.TestTftp;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.tftp.server.TftpServer;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.images.PullPolicy;
import org.testcontainers.utility.DockerImageName;

/**
 * A smoke test of the sample machine's image itself, run by Testcontainers (local images only: the
 * image is the one the backend imported from the sample's image.tar; nothing is pulled).
 */
class SampleImageSmokeContainerIT {

  private static final Duration RUN = Duration.ofSeconds(60);

  @TempDir static Path root;

  @TempDir Path tftpRoot;

  @BeforeAll
  static void importTheSampleImage() throws Exception {
    try (DockerClient docker =
            Daemons.docker(); // a missing engine fails (CI) or skips here, with the reason
        DockerBackend backend =
            new DockerBackend(ContainerFixtures.config(root, 1, Duration.ofSeconds(1)))) {
      String imageId = backend.images().ensure(ContainerFixtures.sample());
      assertEquals(imageId, docker.inspectImageCmd(SAMPLE_TAG).exec().getId());
    }
  }

  private static GenericContainer<?> sampleImage() {
    return new GenericContainer<>(DockerImageName.parse(SAMPLE_TAG))
        .withImagePullPolicy(PullPolicy.defaultPolicy()) // present locally: never pulled
        .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(RUN));
  }

  @Test
  void theWorkerIsInstalledAndWithoutAnEndpointTriesBbotsDefaultThenGivesUp() {
    // No endpoint in the environment and no network: the worker falls back to bbot's default
    // 196.254.111.222:69, waits a moment for a route, then fails clearly.
    try (GenericContainer<?> container =
        sampleImage()
            .withNetworkMode("none")
            .withEnv("BUILDHOST_ADDRESS_WAIT", "1")
            .withEnv("BUILDHOST_TASK_WAIT", "1")
            .withCommand(
                "/bin/sh",
                "-c",
                "ls -l /usr/local/bin/buildhost-worker; /usr/local/bin/buildhost-worker;"
                    + " echo worker-exit=$?")) {
      container.start();
      String logs = container.getLogs();
      assertTrue(
          logs.contains("-rwxr-xr-x") && logs.contains("/usr/local/bin/buildhost-worker"), logs);
      assertTrue(logs.contains("buildhost-worker: TFTP endpoint 196.254.111.222:69"), logs);
      assertTrue(logs.contains("could not download task.manifest from 196.254.111.222:69"), logs);
      assertTrue(logs.contains("worker-exit=75"), logs);
    }
  }

  @Test
  void theWorkerRunsATaskOverTftpOnTheHostNetwork() throws Exception {
    TaskManifest.of("echo smoke-$((2 + 3))", "busybox | head -n 1").writeTo(tftpRoot);
    try (TftpServer tftp = TestTftp.writable(tftpRoot);
        GenericContainer<?> container =
            sampleImage()
                .withNetworkMode("host")
                .withEnv("BUILDHOST_TFTP", "127.0.0.1:" + tftp.port())
                .withCommand("/usr/local/bin/buildhost-worker")) {
      container.start(); // the one-shot check demands exit code 0
      ResultManifest result = ResultManifest.read(tftpRoot.resolve(ResultManifest.FILE_NAME));
      assertEquals("success", result.status(), result::log);
      assertTrue(result.logLines().contains("smoke-5"), result::log);
      assertTrue(result.log().contains("BusyBox"), result::log);
      assertTrue(
          container.getLogs().contains("buildhost-worker: done: success"), container::getLogs);
    }
  }
}
