package dev.buildhost.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.client.ApiClient;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;

/**
 * The daemon jar as bin/buildhost and the package run it ({@code java -jar}, its own Class-Path and
 * launcher agent), for tests of what only that way of starting has: the tests' own daemons run from
 * the test class path, which holds every library.
 */
public final class DaemonJar {

  private static final Duration START = Duration.ofSeconds(60);

  private DaemonJar() {}

  /** manager/target/buildhost-manager.jar (another build folder: -Dbuildhost.buildDir). */
  public static Path path() {
    String buildDir = System.getProperty("buildhost.buildDir", "target");
    Path jar =
        Samples.repository().resolve("manager").resolve(buildDir).resolve("buildhost-manager.jar");
    if (!Files.isRegularFile(jar)) {
      return Requirement.unmet(jar + " is missing: build it first (mvn -B package -DskipTests)");
    }
    return jar;
  }

  /** The manifest's main attribute {@code name}, split at spaces; empty when it has none. */
  public static List<String> attribute(Path jar, String name) throws IOException {
    try (JarFile file = new JarFile(jar.toFile())) {
      String value = file.getManifest().getMainAttributes().getValue(new Attributes.Name(name));
      return value == null ? List.of() : List.of(value.trim().split(" +"));
    }
  }

  /** How a launcher starts the daemon from the jar. */
  public enum Start {
    /** {@code java -jar JAR}: bin/buildhost, and the package in its plain log format. */
    JAR,
    /**
     * {@code java -javaagent:JAR -cp JAR MAIN}: the package in its JSON log format, which adds
     * logback to the class path.
     */
    CLASS_PATH_WITH_AGENT
  }

  /**
   * Starts {@code buildhost daemon} from {@code jar} as {@code start} says, on {@code root}: the
   * API on a free port of 127.0.0.1, one instance at most, on a free TFTP port, in network mode
   * user, with {@code flags} after those and {@code environment} added to the test's; waits until
   * its API answers.
   */
  public static Running start(
      Path jar, Start start, Path root, List<String> flags, Map<String, String> environment)
      throws IOException {
    int tftpPort;
    try (DatagramSocket free = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      tftpPort = free.getLocalPort();
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (start == Start.JAR) {
      command.addAll(List.of("-jar", jar.toString()));
    } else {
      command.addAll(
          List.of(
              "-javaagent:" + jar,
              "-cp",
              jar.toString(),
              "dev.buildhost.manager.cli.BuildhostCommand"));
    }
    command.addAll(
        List.of(
            "daemon",
            "--root",
            root.toString(),
            "--listen",
            "127.0.0.1:0",
            "--tftp-ports",
            tftpPort + "-" + tftpPort,
            "--max-instances",
            "1",
            "--network-mode",
            "user"));
    command.addAll(flags);
    Path log = root.resolveSibling(root.getFileName() + "-daemon.log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(environment);
    Running daemon = new Running(builder.start(), log);
    try {
      DaemonStartup.awaitEndpoint(daemon.process, root.resolve("state"), log, START);
    } catch (RuntimeException | Error e) {
      daemon.process.destroyForcibly();
      throw e;
    }
    daemon.api = ApiClient.forStateDir(root.resolve("state"));
    return daemon;
  }

  /** A daemon of {@link #start}: {@link #close} stops it with SIGTERM and checks it exits 0. */
  public static final class Running implements AutoCloseable {
    private final Process process;
    private final Path log;
    private ApiClient api;

    private Running(Process process, Path log) {
      this.process = process;
      this.log = log;
    }

    public ApiClient api() {
      return api;
    }

    /** What the daemon has written so far. */
    public String log() {
      try {
        return Files.readString(log);
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }

    @Override
    public void close() {
      process.destroy();
      try {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          fail("the daemon did not stop within 60 s of SIGTERM; its log:\n" + log());
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        fail("interrupted while the daemon stopped", e);
      }
      assertEquals(
          0, process.exitValue(), () -> "the daemon's exit on SIGTERM; its log:\n" + log());
    }
  }
}
