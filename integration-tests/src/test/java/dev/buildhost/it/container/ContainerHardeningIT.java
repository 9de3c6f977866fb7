package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.buildhost.it.container.DockerBackendContainerIT.Recorder;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.docker.ImageLoader;
import dev.buildhost.manager.machine.Revision;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hardening every container gets (either network mode), proven from inside real containers of
 * the real Docker backend: no raw sockets, no privileges gained through a setuid-root file, a pids
 * limit, and a flood of output that leaves the console log and the engine's log bounded.
 */
class ContainerHardeningIT {

  private static DockerClient docker;

  @TempDir Path root;

  private DockerBackend backend;
  private final List<Guest> guests = new ArrayList<>();
  private final List<String> imagesToRemove = new ArrayList<>();

  @BeforeAll
  static void connect() {
    docker = Daemons.docker();
  }

  @AfterAll
  static void disconnect() throws IOException {
    if (docker != null) {
      docker.close();
    }
  }

  @BeforeEach
  void openBackend() {
    backend = new DockerBackend(ContainerFixtures.config(root, 4, Duration.ofSeconds(2)));
  }

  @AfterEach
  void cleanUp() {
    guests.forEach(Guest::release);
    backend.close();
    ContainerFixtures.removeContainers(docker, root);
    imagesToRemove.forEach(tag -> Daemons.removeImage(docker, tag));
  }

  /** Runs {@code command} in a container of {@code revision} to its end; its console log. */
  private String run(String id, Revision revision) throws Exception {
    LaunchSpec spec = new LaunchSpec(id, revision, root.resolve("instances").resolve(id), 1);
    Recorder recorder = new Recorder();
    guests.add(backend.launch(spec, recorder));
    recorder.awaitStopped();
    return Files.readString(spec.consoleLog());
  }

  @Test
  void rawSocketsFailAndOnlyTheBuildCapabilitiesAreKept() throws Exception {
    String console =
        run(
            "raw1",
            ContainerFixtures.sampleRunning(
                "sh -c \"grep CapEff /proc/self/status;"
                    + " ping -c 1 -W 1 127.0.0.1; echo ping-exit=$?\""));
    System.out.println("raw socket attempt:\n" + console);
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID: bits 0 1 3 4 5 6 7
    assertTrue(console.contains("CapEff:\t00000000000000fb"), console);
    assertTrue(console.contains("permission denied"), console);
    assertTrue(console.contains("ping-exit=1"), console);
  }

  @Test
  void aSetuidRootFileGivesNoPrivilegesAndThePidsAreLimited() throws Exception {
    Revision revision =
        ContainerFixtures.ownMachine(
            root.resolve("machines"),
            "suid",
            "image.tar",
            "/bin/sh -c \"grep NoNewPrivs /proc/self/status;"
                + " cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
                + " /bin/euid drop\"");
    imagesToRemove.add(ImageLoader.tagFor(revision));
    ContainerFixtures.write(revision.file("image.tar"), rootfsWithSetuidEuid());
    String console = run("suid1", revision);
    System.out.println("setuid and pids attempt:\n" + console);
    assertTrue(console.contains("NoNewPrivs:\t1"), console);
    assertTrue(
        console.lines().anyMatch(line -> line.equals("ruid=1000 euid=1000")),
        "the setuid-root file must run as its caller: " + console);
    assertTrue(console.lines().anyMatch(line -> line.equals("1024")), "pids.max: " + console);
  }

  @Test
  void aFloodOfOutputKeepsTheConsoleLogAndTheEngineLogBounded() throws Exception {
    String id = "flood1";
    LaunchSpec spec =
        new LaunchSpec(
            id,
            ContainerFixtures.sampleRunning(
                "sh -c \"yes 0123456789abcdef0123456789abcdef | head -c 48000000; echo flood-done\""),
            root.resolve("instances").resolve(id),
            1);
    Recorder recorder = new Recorder();
    Guest guest = backend.launch(spec, recorder);
    guests.add(guest);
    recorder.awaitStopped();
    InspectContainerResponse container =
        docker.inspectContainerCmd(DockerBackend.containerName(id)).exec();
    Path engineLog = Path.of(container.getLogPath());
    long engineBytes = 0;
    try (var files = Files.list(engineLog.getParent())) {
      for (Path file :
          files.filter(f -> f.getFileName().toString().contains("json.log")).toList()) {
        engineBytes += Files.size(file);
      }
    }
    long consoleBytes = Files.size(spec.consoleLog());
    String tail = tail(spec.consoleLog(), 200);
    System.out.printf(
        "flood of 48000000 bytes: console log %d bytes, engine log %d bytes, last line: %s%n",
        consoleBytes, engineBytes, tail.strip());
    long limit = 16L * 1024 * 1024;
    assertTrue(consoleBytes <= limit + 200, "console log " + consoleBytes);
    assertTrue(engineBytes <= 2 * limit + 1024 * 1024, "engine log " + engineBytes);
    // The engine's two 16 MiB log files rotate away most of this output before anyone could read
    // it, but the console log does not depend on them: the copy is attached to the container,
    // which waits while the copy falls behind. It keeps the first 16 MiB and counts the rest
    // (48000000 bytes, and "flood-done" with its newline).
    assertTrue(
        tail.endsWith(
            "[buildhost: the console log keeps "
                + limit
                + " bytes of output; "
                + (48_000_011 - limit)
                + " more bytes were left out]\n"),
        tail);
    assertTrue(recorder.stopped.get(1, TimeUnit.SECONDS).exitCode() == 0);
  }

  private static String tail(Path file, int bytes) throws IOException {
    byte[] all = Files.readAllBytes(file);
    return new String(all, Math.max(0, all.length - bytes), Math.min(bytes, all.length), "UTF-8");
  }

  /**
   * busybox (sh, grep, cat) and {@code /bin/euid}, setuid root: prints its real and effective user;
   * with an argument it first becomes user 1000 and runs itself again.
   */
  private byte[] rootfsWithSetuidEuid() throws IOException, InterruptedException {
    Path source = root.resolve("euid.c");
    Files.writeString(
        source,
        """
        #include <grp.h>
        #include <stdio.h>
        #include <unistd.h>
        /* "euid drop": become user 1000, then run this setuid-root file again. */
        int main(int argc, char **argv) {
          if (argc > 1) {
            if (setgroups(0, NULL) || setgid(1000) || setuid(1000)) { perror("drop"); return 2; }
            execl("/bin/euid", "/bin/euid", (char *) NULL);
            perror("exec");
            return 3;
          }
          printf("ruid=%d euid=%d\\n", (int) getuid(), (int) geteuid());
          return 0;
        }
        """);
    Path binary = root.resolve("euid");
    Process gcc =
        new ProcessBuilder("gcc", "-static", "-O2", "-o", binary.toString(), source.toString())
            .inheritIO()
            .start();
    assertTrue(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0, "gcc failed");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      for (String dir : List.of("bin/", "tmp/", "proc/", "sys/")) {
        TarArchiveEntry entry = new TarArchiveEntry(dir);
        entry.setMode(040755);
        tar.putArchiveEntry(entry);
        tar.closeArchiveEntry();
      }
      file(tar, "bin/busybox", Files.readAllBytes(Path.of("/bin/busybox")), 0755);
      file(tar, "bin/euid", Files.readAllBytes(binary), 04755);
      for (String applet : List.of("sh", "grep", "cat")) {
        TarArchiveEntry link = new TarArchiveEntry("bin/" + applet, TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("busybox");
        tar.putArchiveEntry(link);
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static void file(TarArchiveOutputStream tar, String name, byte[] content, int mode)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setMode(mode);
    entry.setUserId(0);
    entry.setGroupId(0);
    entry.setSize(content.length);
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }

  @Test
  void theEngineRecordsTheHardening() throws Exception {
    String id = "cfg1";
    LaunchSpec spec =
        new LaunchSpec(
            id, ContainerFixtures.sampleRunning("true"), root.resolve("instances").resolve(id), 1);
    Recorder recorder = new Recorder();
    guests.add(backend.launch(spec, recorder));
    var host = docker.inspectContainerCmd(DockerBackend.containerName(id)).exec().getHostConfig();
    assertEquals(List.of("no-new-privileges"), host.getSecurityOpts());
    assertEquals(1024L, host.getPidsLimit());
    assertEquals("ALL", host.getCapDrop()[0].name());
    recorder.awaitStopped();
  }
}
