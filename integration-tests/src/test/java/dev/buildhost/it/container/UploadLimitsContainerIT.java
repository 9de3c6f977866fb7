package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upload quota and largest-file size of an instance's writable TFTP server, seen from a real
 * container: its worker's task uploads with busybox {@code tftp} to its own server, through the
 * real {@link InstanceManager} and Docker backend. Past a limit the guest gets a TFTP error naming
 * the limit, and the instance's folder keeps only what was accepted (no partial file, no temporary
 * file).
 */
class UploadLimitsContainerIT {

  private static final long QUOTA = 200 * 1024;
  private static final long MAX_FILE = 100 * 1024;

  /** A task command uploading {@code bytes} zero bytes as {@code name}; prints the exit code. */
  private static String upload(String name, int bytes) {
    return "head -c "
        + bytes
        + " /dev/zero > "
        + name
        + " && tftp -p -l "
        + name
        + " -r "
        + name
        + " ${BUILDHOST_TFTP%:*} ${BUILDHOST_TFTP##*:}; echo "
        + name
        + "-exit=$?";
  }

  @TempDir Path root;

  private InstanceManager manager;

  private InstanceManager open(Revision machine) {
    ManagerConfig config =
        ContainerFixtures.config(root, 2, Duration.ofSeconds(2))
            .withTftpUploadLimits(new UploadLimits(QUOTA, MAX_FILE));
    manager = InstanceManager.open(config, name -> machine, List.of(new DockerBackend(config)));
    return manager;
  }

  @AfterEach
  void close() {
    if (manager != null) {
      manager.list().stream()
          .filter(i -> i.state() != InstanceState.STOPPED)
          .forEach(i -> manager.terminate(i.id()));
      manager.close();
    }
  }

  @Test
  void aGuestWritingPastTheLargestFileOrTheQuotaGetsAnErrorNamingItAndNothingOfTheFileStays()
      throws Exception {
    open(ContainerFixtures.sample());
    // The host's own file in the folder does not use up the guest's quota.
    hostFiles = Map.of("input.bin", new byte[150_000]);
    ResultManifest result =
        run(
            upload("big.bin", 150_000),
            upload("a.bin", 90_000),
            upload("b.bin", 90_000),
            upload("c.bin", 90_000));
    String log = result.log();
    System.out.println("upload limits, the guest's view:\n" + log);

    assertTrue(log.contains("big.bin-exit=1"), log);
    assertTrue(log.contains("maximum file size"), log);
    assertTrue(log.contains(Long.toString(MAX_FILE)), log);
    assertTrue(log.contains("a.bin-exit=0"), log);
    assertTrue(log.contains("b.bin-exit=0"), log);
    assertTrue(log.contains("c.bin-exit=1"), log);
    assertTrue(log.contains("quota"), log);

    List<String> stored = folderListing();
    assertEquals(
        List.of("a.bin", "b.bin", "input.bin", "result.manifest", "task.manifest"),
        stored,
        "what is stored");
    assertTrue(folderBytes() - 150_000 <= QUOTA, "the guest's files hold at most the quota");
  }

  @Test
  void aMachinesManifestLimitsReplaceTheDaemonsDefaults() throws Exception {
    open(ContainerFixtures.sampleWithUploadLimits(400L * 1024, 300L * 1024));
    ResultManifest result = run(upload("big.bin", 150_000), upload("more.bin", 150_000));
    String log = result.log();

    assertTrue(log.contains("big.bin-exit=0"), log);
    assertTrue(log.contains("more.bin-exit=0"), log);
    assertEquals(
        List.of("big.bin", "more.bin", "result.manifest", "task.manifest"), folderListing());
  }

  private String instanceId;
  private Map<String, byte[]> hostFiles = Map.of();

  private ResultManifest run(String... commands) throws IOException {
    Map<String, byte[]> files = new java.util.HashMap<>(hostFiles);
    files.put(
        TaskManifest.FILE_NAME, TaskManifest.of(commands).text().getBytes(StandardCharsets.UTF_8));
    Instance started = manager.start(new StartRequest("sample-container", null, files));
    instanceId = started.id();
    Awaitility.await()
        .atMost(Duration.ofMinutes(2))
        .until(() -> manager.get(started.id()).state() == InstanceState.STOPPED);
    try (InputStream in = manager.openFile(started.id(), ResultManifest.FILE_NAME)) {
      return ResultManifest.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** Every name in the instance's TFTP folder, hidden ones included, sorted. */
  private List<String> folderListing() throws IOException {
    try (Stream<Path> files = Files.list(manager.tftpFolder(instanceId))) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private long folderBytes() throws IOException {
    try (Stream<Path> files = Files.list(manager.tftpFolder(instanceId))) {
      long total = 0;
      for (Path file : files.toList()) {
        total += Files.size(file);
      }
      return total;
    }
  }
}
