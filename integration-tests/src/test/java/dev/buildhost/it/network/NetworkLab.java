package dev.buildhost.it.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.network.GuestNetwork;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The real kernel as the network tests use it: network namespaces standing in for guests, the
 * commands run in them, and the check that a test left nothing behind. Every name is the tests' own
 * (bridge {@code bhit0}, tables {@code buildhost_it}, ports {@code bx*}, namespaces {@code
 * bxit-*}), so a real daemon's network is never touched.
 */
final class NetworkLab implements AutoCloseable {
  static final String HOST = "196.254.111.222";
  static final GuestNetwork SETTINGS =
      GuestNetwork.defaults().withNames("bhit0", "buildhost_it", "bx");
  private static final String NAMESPACE_PREFIX = "bxit-";

  private final List<String> namespaces = new ArrayList<>();
  private final List<Process> background = new ArrayList<>();
  private final List<String> extraLinks = new ArrayList<>();

  /** Fails (CI) or skips (elsewhere) unless we are root with every tool the tests run. */
  static void requireKernelAndTools() {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet(
          "the network tests make bridges, namespaces and nftables tables: run them as root");
    }
    for (String tool :
        List.of("ip", "bridge", "nft", "dnsmasq", "busybox", "curl", "nsenter", "unshare")) {
      Requirement.command(tool);
    }
  }

  /**
   * Refuses to run when our test names or the host address are already in use (a leak, or a real
   * daemon).
   */
  static void requireCleanHost() {
    Result links = run("ip", "-br", "address", "show");
    if (links.output().contains(HOST + "/")) {
      fail(
          HOST
              + " is already on an interface of this host (a daemon's guest network, or a leaked test "
              + "bridge); the network tests need it for themselves:\n"
              + links.output());
    }
    assertNothingLeft();
  }

  /** A fresh namespace {@code bxit-<what>} with loopback up; removed by {@link #close}. */
  String namespace(String what) {
    String name = NAMESPACE_PREFIX + what;
    check(run("ip", "netns", "add", name));
    namespaces.add(name);
    check(run("ip", "-n", name, "link", "set", "dev", "lo", "up"));
    return name;
  }

  /** Remembers a link the test made outside the network layer, to delete it at the end. */
  void ownLink(String name) {
    extraLinks.add(name);
  }

  /** Runs {@code command} inside {@code namespace}. */
  static Result in(String namespace, String... command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
    full.addAll(Arrays.asList(command));
    return run(full.toArray(String[]::new));
  }

  /** Starts a long-running command (a listener); it is ended by PID at {@link #close}. */
  Process start(Path log, String... command) throws IOException {
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    background.add(process);
    return process;
  }

  static Result run(String... command) {
    try {
      Process process = new ProcessBuilder(command).start();
      process.getOutputStream().close();
      CompletableFuture<String> errors =
          CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
      String output = read(process.getInputStream());
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return fail(String.join(" ", command) + " did not end in 60 s");
      }
      return new Result(String.join(" ", command), process.exitValue(), output, errors.join());
    } catch (IOException e) {
      return fail("cannot run " + String.join(" ", command) + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted");
    }
  }

  static Result check(Result result) {
    if (result.exitCode() != 0) {
      fail(
          result.command()
              + " exited with "
              + result.exitCode()
              + ": "
              + result.errors()
              + result.output());
    }
    return result;
  }

  @Override
  public void close() {
    for (Process process : background) {
      process.destroy();
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (String link : extraLinks) {
      run("ip", "link", "delete", "dev", link);
    }
    for (String namespace : namespaces) {
      run("ip", "netns", "delete", namespace);
    }
  }

  /** No test bridge, port, table, namespace or dnsmasq of the tests remains. */
  static void assertNothingLeft() {
    Result links = check(run("ip", "-br", "link", "show"));
    for (String line : links.output().lines().toList()) {
      String name = line.split("[\\s@]+")[0];
      assertFalse(
          name.equals(SETTINGS.bridgeName())
              || name.matches("bx[tv][0-9a-f]{8}p?")
              || name.startsWith("bitout"),
          "left behind: link " + line);
    }
    assertEquals(
        1,
        run("nft", "list", "table", "bridge", SETTINGS.tableName()).exitCode(),
        "left behind: bridge table");
    assertEquals(
        1,
        run("nft", "list", "table", "inet", SETTINGS.tableName()).exitCode(),
        "left behind: inet table");
    String namespaces = check(run("ip", "netns", "list")).output();
    assertFalse(namespaces.contains(NAMESPACE_PREFIX), "left behind: namespaces " + namespaces);
    String processes = check(run("ps", "-eo", "pid,args")).output();
    assertTrue(
        processes
            .lines()
            .noneMatch(line -> line.contains("dnsmasq") && line.contains("--interface=bhit0")),
        "left behind: dnsmasq " + processes);
  }

  static String read(java.io.InputStream stream) {
    try {
      return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  static String readFile(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(unreadable " + file + ": " + e + ")";
    }
  }

  /** What a command did. */
  record Result(String command, int exitCode, String output, String errors) {
    boolean ok() {
      return exitCode == 0;
    }
  }
}
