package dev.buildhost.it.container;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Image;
import dev.buildhost.it.support.Samples;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Revisions, settings and engine look-ups shared by the container integration tests. */
final class ContainerFixtures {

  /** The tag the sample's image.tar is imported as; cached between runs, never removed by tests. */
  static final String SAMPLE_TAG = "buildhost/sample-container:1.0";

  private ContainerFixtures() {}

  /**
   * Settings for a manager on {@code root}: its own TFTP port range, {@code grace} for poweroff.
   */
  static ManagerConfig config(Path root, int maxInstances, Duration grace) {
    // A port range of its own, away from the default 10000-10999 other test classes may use.
    int first = 23000 + (int) (ProcessHandle.current().pid() % 50) * 100;
    return new ManagerConfig(
        root,
        root.resolve("state"),
        first,
        first + 99,
        maxInstances,
        16384,
        Duration.ofMinutes(5),
        grace,
        Acceleration.TCG,
        "qemu:///system",
        "unix:///var/run/docker.sock",
        "host");
  }

  /** The bundled sample-container, the revision in service. */
  static Revision sample() {
    Manifest manifest = Samples.manifest(Samples.CONTAINER);
    Path dir = Samples.revision(Samples.CONTAINER);
    return new Revision(manifest.name(), version(dir, manifest.name()), dir, manifest);
  }

  /** The sample revision running {@code command} instead of its worker (same image). */
  static Revision sampleRunning(String command) {
    Revision sample = sample();
    return new Revision(
        sample.machine(), sample.version(), sample.dir(), withCommand(sample.manifest(), command));
  }

  /**
   * A revision of a machine of its own ({@code it-<what>-<random>}, version 1.0) in {@code dir}.
   */
  static Revision ownMachine(Path machinesDir, String what, String image, String command)
      throws IOException {
    String name = "it-" + what + "-" + UUID.randomUUID().toString().substring(0, 8);
    Path dir = Files.createDirectories(machinesDir.resolve(name).resolve(name + "-1.0"));
    Manifest sample = sample().manifest();
    Manifest manifest =
        new Manifest(
            name,
            name,
            "integration test machine",
            sample.type(),
            "build",
            sample.ramMinimumMib(),
            sample.ramMaximumMib(),
            sample.cpus(),
            null,
            List.of(),
            null,
            null,
            null,
            null,
            null,
            image,
            command);
    return new Revision(name, "1.0", dir, manifest);
  }

  static Manifest withCommand(Manifest m, String command) {
    return new Manifest(
        m.id(),
        m.name(),
        m.summary(),
        m.type(),
        m.role(),
        m.ramMinimumMib(),
        m.ramMaximumMib(),
        m.cpus(),
        m.mac(),
        m.options(),
        m.changes(),
        m.disk(),
        m.kernel(),
        m.initrd(),
        m.cmdline(),
        m.image(),
        command);
  }

  /** The sample revision with the manifest's TFTP upload limits set (null leaves one out). */
  static Revision sampleWithUploadLimits(Long quotaBytes, Long maxFileBytes) {
    Revision sample = sample();
    Manifest m = sample.manifest();
    Manifest limited =
        new Manifest(
            m.id(),
            m.name(),
            m.summary(),
            m.type(),
            m.role(),
            m.ramMinimumMib(),
            m.ramMaximumMib(),
            m.cpus(),
            m.mac(),
            m.options(),
            m.changes(),
            m.disk(),
            m.kernel(),
            m.initrd(),
            m.cmdline(),
            m.image(),
            m.command(),
            m.outboundNat(),
            quotaBytes,
            maxFileBytes,
            null,
            null);
    return new Revision(sample.machine(), sample.version(), sample.dir(), limited);
  }

  private static String version(Path revisionDir, String machine) {
    String folder = revisionDir.getFileName().toString();
    return folder.substring(machine.length() + 1);
  }

  /** A root file system tar: /bin/busybox, /bin/sh, plus {@code extraFiles} (path to content). */
  static byte[] busyboxRootfs(Map<String, String> extraFiles) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      directory(tar, "bin/");
      byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
      TarArchiveEntry binary = new TarArchiveEntry("bin/busybox");
      binary.setMode(0755);
      binary.setSize(busybox.length);
      tar.putArchiveEntry(binary);
      tar.write(busybox);
      tar.closeArchiveEntry();
      for (String applet : List.of("sh", "sleep", "echo", "cat")) {
        TarArchiveEntry link = new TarArchiveEntry("bin/" + applet, TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("busybox");
        tar.putArchiveEntry(link);
        tar.closeArchiveEntry();
      }
      directory(tar, "tmp/");
      for (Map.Entry<String, String> file : extraFiles.entrySet()) {
        byte[] content = file.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        TarArchiveEntry entry = new TarArchiveEntry(file.getKey());
        entry.setSize(content.length);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static void directory(TarArchiveOutputStream tar, String name) throws IOException {
    TarArchiveEntry dir = new TarArchiveEntry(name);
    dir.setMode(040755);
    tar.putArchiveEntry(dir);
    tar.closeArchiveEntry();
  }

  static void write(Path file, byte[] content) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(content);
    }
  }

  /** Containers (running or not) of the manager whose root is {@code root}. */
  static List<Container> containersOf(DockerClient docker, Path root) {
    return docker
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(
            Map.of(DockerBackend.LABEL_ROOT, root.toAbsolutePath().normalize().toString()))
        .exec();
  }

  /** The names of the containers of one instance (none once it ended and was cleaned up). */
  static List<String> containersOf(DockerClient docker, Path root, String instanceId) {
    return docker
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(
            Map.of(
                DockerBackend.LABEL_ROOT,
                root.toAbsolutePath().normalize().toString(),
                DockerBackend.LABEL_INSTANCE,
                instanceId))
        .exec()
        .stream()
        .map(container -> container.getNames()[0])
        .toList();
  }

  /**
   * Ids of the images that have no tag (what a failed load could leave behind), less the
   * sample-container images replaced when test runs with differently built samples share the engine
   * (they alternate the sample's tag).
   */
  static Set<String> danglingImages(DockerClient docker) {
    return docker.listImagesCmd().withDanglingFilter(true).exec().stream()
        .filter(
            image ->
                image.getLabels() == null
                    || !Samples.CONTAINER.equals(
                        image.getLabels().get(DockerBackend.LABEL_MACHINE)))
        .map(Image::getId)
        .collect(Collectors.toSet());
  }

  /** Every tag of the repository {@code buildhost/<machine>}. */
  static List<String> tagsOf(DockerClient docker, String machine) {
    return docker.listImagesCmd().withReferenceFilter("buildhost/" + machine).exec().stream()
        .flatMap(
            image ->
                image.getRepoTags() == null
                    ? java.util.stream.Stream.<String>empty()
                    : java.util.Arrays.stream(image.getRepoTags()))
        .filter(tag -> tag.startsWith("buildhost/" + machine + ":"))
        .toList();
  }

  /** Removes every container of the manager on {@code root} (after a failed test). */
  static void removeContainers(DockerClient docker, Path root) {
    for (Container container : containersOf(docker, root)) {
      try {
        docker.removeContainerCmd(container.getId()).withForce(true).exec();
      } catch (NotFoundException ignored) {
        // gone meanwhile
      }
    }
  }
}
