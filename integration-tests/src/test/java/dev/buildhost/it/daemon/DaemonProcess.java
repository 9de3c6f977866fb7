package dev.buildhost.it.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.it.support.DaemonStartup;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * {@code buildhost daemon} in its own JVM (the test's class path), on a root of the test's: it can
 * be killed with SIGKILL and started again like the real service.
 */
@SuppressWarnings("try") // close() waits for the daemon's JVM to end, so it may be interrupted
final class DaemonProcess implements AutoCloseable {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final Path root;
  private final List<String> flags;
  private final Path log;
  private Process process;

  DaemonProcess(Path root, List<String> flags) {
    this.root = root;
    this.flags = List.copyOf(flags);
    this.log = root.resolve("daemon.log");
  }

  /**
   * A daemon on loopback with the TFTP ports {@code firstPort..firstPort+ports-1}, TCG and a 5
   * minute default timeout, in network mode user: for tests whose subject holds in either guest
   * network mode (the bridge mode has its own tests, BridgeDaemonIT), so that the host's default
   * bridge stays untouched.
   */
  static DaemonProcess onLoopback(Path root, int firstPort, int ports) {
    return new DaemonProcess(
        root,
        List.of(
            "--listen",
            "127.0.0.1:0",
            "--tftp-listen",
            "127.0.0.1:0",
            "--tftp-ports",
            firstPort + "-" + (firstPort + ports - 1),
            "--accel",
            "tcg",
            "--default-timeout",
            "5m",
            "--network-mode",
            "user"));
  }

  Path stateDir() {
    return root.resolve("state");
  }

  /** Starts the daemon and waits until its API answers; returns a client of it. */
  ApiClient start() throws IOException, InterruptedException {
    Path apiJson = stateDir().resolve(DaemonEndpoint.ENDPOINT_FILE);
    Files.deleteIfExists(apiJson); // a SIGKILLed daemon leaves its stale api.json behind
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.buildhost.manager.cli.BuildhostCommand",
                "daemon",
                "--root",
                root.toString()));
    command.addAll(flags);
    process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    DaemonStartup.awaitEndpoint(process, stateDir(), log, START_TIMEOUT);
    ApiClient client = ApiClient.forStateDir(stateDir());
    client.host();
    return client;
  }

  /** SIGKILL: no shutdown hook runs, nothing is cleaned up. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      fail("the daemon did not die on SIGKILL");
    }
  }

  /** SIGTERM, the clean stop; returns the exit code. */
  int stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(90, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail("the daemon did not stop within 90 s of SIGTERM; its log:\n" + log());
    }
    return process.exitValue();
  }

  /** The containers this daemon's root made (running or not), by the label it gives them. */
  List<Container> containers(DockerClient docker) {
    return docker
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(Map.of("dev.buildhost.root", root.toAbsolutePath().normalize().toString()))
        .exec();
  }

  /** Whether nothing listens on this UDP port of 127.0.0.1. */
  static boolean udpPortFree(int port) {
    try (DatagramSocket socket =
        new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      return socket.isBound();
    } catch (SocketException e) {
      return false;
    }
  }

  /** A file of the instance's folder, or its console when {@code name} is null; null if none. */
  static String readOrNull(ApiClient api, String id, String name) throws IOException {
    try (InputStream in = name == null ? api.openConsole(id, false) : api.openFile(id, name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (ApiClientException e) {
      return null;
    }
  }

  /** Waits (bounded) until the instance's console shows {@code text}. */
  static void awaitConsole(ApiClient api, String id, String text) {
    Awaitility.await("'" + text + "' on the console of " + id)
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> readOrNull(api, id, null), console -> console != null && console.contains(text));
  }

  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
