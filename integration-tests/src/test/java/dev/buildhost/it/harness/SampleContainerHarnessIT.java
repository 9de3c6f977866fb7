package dev.buildhost.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.it.support.TestTftp;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the container half of the test harness without the manager: the bundled sample-container's
 * rootfs tar is imported into the real dockerd, run with host networking and {@code
 * BUILDHOST_TFTP=127.0.0.1:PORT}; its worker fetches task.manifest from our TFTP server, runs the
 * commands, uploads result.manifest and exits with the task's status.
 */
class SampleContainerHarnessIT {

  private static final String REPOSITORY = "buildhost-it/sample-container";
  private static final String TAG = "harness-" + UUID.randomUUID().toString().substring(0, 8);
  private static final Duration RUN_TIMEOUT = Duration.ofSeconds(60);

  private static DockerClient docker;
  private static Manifest machine;

  @TempDir Path tftpRoot;

  /** Once per class; per test so that a missing daemon or sample shows as each test's skip. */
  @BeforeEach
  void importSampleImage() throws IOException, InterruptedException {
    if (machine != null) {
      return;
    }
    if (docker == null) {
      docker = Daemons.docker();
    }
    Manifest sample = Samples.manifest(Samples.CONTAINER);
    Path image = Samples.revision(Samples.CONTAINER).resolve(sample.image());
    // The image is a rootfs tar, so it is `docker import`ed, not `docker load`ed. docker-java's
    // createImageCmd would be the API equivalent, but it sends the stream as JSON (the engine
    // answers "unexpected EOF"), so the CLI does it.
    Process process =
        new ProcessBuilder(
                Requirement.command("docker").toString(),
                "import",
                image.toString(),
                REPOSITORY + ":" + TAG)
            .redirectErrorStream(true)
            .start();
    boolean done = process.waitFor(60, TimeUnit.SECONDS);
    if (!done) {
      process.destroyForcibly().waitFor();
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(
        done && process.exitValue() == 0, () -> "docker import " + image + " failed: " + output);
    machine = sample;
  }

  @AfterAll
  static void removeSampleImage() throws IOException {
    if (docker == null) {
      return;
    }
    try {
      docker.removeImageCmd(REPOSITORY + ":" + TAG).withForce(true).exec();
    } catch (NotFoundException ignored) {
      // the import failed; nothing to remove
    } finally {
      docker.close();
    }
  }

  @Test
  void workerRunsTheTaskAndUploadsASuccessfulResult() throws Exception {
    TaskManifest.of("echo harness-$((6 * 7))", "echo \"endpoint=$BUILDHOST_TFTP\"")
        .writeTo(tftpRoot);
    try (TftpServer tftp = TestTftp.writable(tftpRoot)) {
      Run run = runWorker(tftp.port());

      ResultManifest result = awaitResult(run);
      assertEquals("success", result.status(), result::log);
      assertEquals(0, result.exitCode(), result::log);
      assertTrue(
          result.logLines().contains("harness-42"),
          () -> "no 'harness-42' line in:\n" + result.log());
      assertTrue(
          result.logLines().contains("endpoint=127.0.0.1:" + tftp.port()),
          () -> "the worker's environment is not in the log:\n" + result.log());
      assertEquals(0, run.exitCode(), run.output());
      assertTrue(
          run.output().contains("buildhost-worker: uploaded result.manifest (status success"),
          run.output());
    }
  }

  @Test
  void firstFailingCommandStopsTheTaskAndItsExitCodeIsReported() throws Exception {
    TaskManifest.of("echo before-the-failure", "exit 3", "echo after-the-failure")
        .writeTo(tftpRoot);
    try (TftpServer tftp = TestTftp.writable(tftpRoot)) {
      Run run = runWorker(tftp.port());

      ResultManifest result = awaitResult(run);
      assertEquals("error", result.status(), result::log);
      assertEquals(3, result.exitCode(), result::log);
      assertTrue(result.logLines().contains("before-the-failure"), result::log);
      assertFalse(result.log().contains("after-the-failure"), result::log);
      assertEquals(3, run.exitCode(), run.output());
    }
  }

  @Test
  void outputWithoutAFinalNewlineEndsItsOwnLine() throws Exception {
    TaskManifest.of("printf 'no-newline'", "printf 'ends-with-a-backslash\\\\'", "echo next")
        .writeTo(tftpRoot);
    try (TftpServer tftp = TestTftp.writable(tftpRoot)) {
      Run run = runWorker(tftp.port());

      ResultManifest result = awaitResult(run);
      assertEquals("success", result.status(), result::log);
      assertEquals(
          List.of(
              "$ printf 'no-newline'",
              "no-newline",
              "$ printf 'ends-with-a-backslash\\\\'",
              "ends-with-a-backslash\\",
              "$ echo next",
              "next"),
          result.logLines());
      assertTrue(run.output().contains("no-newline\nbuildhost-worker: [2/3]"), run.output());
    }
  }

  private record Run(int exitCode, String output) {}

  /** Runs the sample's worker to its end (bounded) and removes the container. */
  private Run runWorker(int tftpPort) throws InterruptedException {
    String id =
        docker
            .createContainerCmd(REPOSITORY + ":" + TAG)
            .withName("buildhost-it-harness-" + UUID.randomUUID().toString().substring(0, 8))
            .withLabels(Map.of("dev.buildhost.test", "harness"))
            .withEnv("BUILDHOST_TFTP=127.0.0.1:" + tftpPort)
            .withCmd(List.of(machine.command()))
            .withHostConfig(HostConfig.newHostConfig().withNetworkMode("host"))
            .exec()
            .getId();
    try {
      docker.startContainerCmd(id).exec();
      int exitCode =
          docker
              .waitContainerCmd(id)
              .start()
              .awaitStatusCode(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      return new Run(exitCode, output(id));
    } finally {
      docker.removeContainerCmd(id).withForce(true).exec();
    }
  }

  private ResultManifest awaitResult(Run run) throws IOException, InterruptedException {
    return ResultManifest.awaitIn(tftpRoot, Duration.ofSeconds(5))
        .orElseThrow(
            () ->
                new AssertionError(
                    "the worker exited ("
                        + run.exitCode()
                        + ") without uploading "
                        + ResultManifest.FILE_NAME
                        + "; its output:\n"
                        + run.output()));
  }

  private String output(String containerId) throws InterruptedException {
    StringBuilder text = new StringBuilder();
    docker
        .logContainerCmd(containerId)
        .withStdOut(true)
        .withStdErr(true)
        .exec(
            new ResultCallback.Adapter<Frame>() {
              @Override
              public void onNext(Frame frame) {
                text.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
              }
            })
        .awaitCompletion(10, TimeUnit.SECONDS);
    return text.toString();
  }
}
