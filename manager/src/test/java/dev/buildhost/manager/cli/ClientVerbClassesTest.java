package dev.buildhost.manager.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client verb is a client of the API and nothing more: run as bin/buildhost runs it, in a JVM of
 * its own, it loads the API client and none of the daemon's native or engine libraries
 * (libvirt-java, JNA, docker-java) nor the manager's backends, the HTTP server, the other verbs'
 * code or java.net.http (what made a verb start ten times slower than a JVM printing a line), and
 * its command line makes no proxy class.
 */
class ClientVerbClassesTest {

  private static final List<String> FORBIDDEN =
      List.of(
          "org.libvirt.",
          "com.sun.jna.",
          "com.github.dockerjava.",
          "dev.buildhost.manager.libvirt.",
          "dev.buildhost.manager.docker.",
          "dev.buildhost.manager.instance.",
          "dev.buildhost.manager.journal.",
          // The HTTP server and the other verbs' code: a client verb builds its own model only.
          "org.eclipse.jetty.",
          "dev.buildhost.manager.daemon.",
          "dev.buildhost.tftp.server.",
          // Jackson's databind: the API client reads with jackson-jr; databind's set-up was half
          // of a verb's start-up. Only --json output uses it.
          "com.fasterxml.jackson.databind.",
          // java.net.http sets up a selector thread and the default TLS context: a second of
          // start-up for one request to a daemon on 127.0.0.1 (bench/cli).
          "java.net.http.",
          "jdk.internal.net.http.",
          "sun.security.ssl.");

  @TempDir Path root;

  @Test
  // "try": the daemon only has to run while the CLI talks to it; the body never names it.
  @SuppressWarnings("try")
  void listLoadsTheApiClientAndNoDaemonLibrary() throws Exception {
    try (Daemon daemon = TestDaemons.start(root, ApiServer.Limits.DEFAULT)) {
      Process cli =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xlog:class+load=info:stdout",
                  "-cp",
                  System.getProperty("java.class.path"),
                  BuildhostCommand.class.getName(),
                  "list",
                  "--state-dir",
                  root.resolve("state").toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(cli.waitFor(60, TimeUnit.SECONDS), "the CLI ended");
      assertEquals(0, cli.exitValue(), out);
      List<String> loaded =
          out.lines()
              .filter(l -> l.contains("[class,load]"))
              .map(l -> l.replaceFirst(".*\\[class,load\\] (\\S+).*", "$1"))
              .toList();
      assertTrue(out.contains(TestDaemons.MACHINE), "the verb did its work:\n" + out);
      assertTrue(loaded.contains("dev.buildhost.client.ApiClient"), "the class list is read right");
      List<String> forbidden =
          loaded.stream().filter(c -> FORBIDDEN.stream().anyMatch(c::startsWith)).toList();
      assertEquals(List.of(), forbidden, "classes a client verb must not load");
      // Its command line is built in code: an annotation read through reflection makes the JDK
      // generate a proxy class, at every start (about 40 ms of a verb's run: bench/cli).
      List<String> proxiesBeforeTheRequest =
          out.lines()
              .takeWhile(l -> !l.contains("[class,load] dev.buildhost.client.ApiClient "))
              .filter(l -> l.contains("__dynamic_proxy__"))
              .toList();
      assertEquals(List.of(), proxiesBeforeTheRequest, "proxy classes made for the command line");
    }
  }
}
