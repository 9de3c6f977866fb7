package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.daemon.Daemon;
import dev.buildhost.manager.daemon.TestDaemons;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java example of doc/api.md is real: taken from the page, compiled against the client module
 * and Jackson alone, and run in a JVM of its own against a daemon, as a build agent would run it.
 */
class ClientLibraryExampleTest {

  private static final Pattern JAVA_BLOCK = Pattern.compile("(?s)\\n```java\\n(.*?)\\n```\\n");

  @TempDir Path root;
  @TempDir Path work;

  @Test
  void theExampleOfTheApiPageCompilesAgainstTheClientAloneAndRuns() throws Exception {
    Matcher block = JAVA_BLOCK.matcher(Files.readString(Path.of("..", "doc", "api.md")));
    assertTrue(block.find(), "doc/api.md has a java block");
    Path source = Files.writeString(work.resolve("BuildAgentExample.java"), block.group(1));
    // The client module and what it depends on; not the manager, libvirt or docker-java.
    String clientPath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(entry -> entry.contains("api-client") || entry.contains("jackson"))
            .collect(Collectors.joining(File.pathSeparator));
    assertTrue(
        clientPath.contains("api-client"),
        "the client module is on the test class path: " + clientPath);

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
    int compiled =
        javac.run(
            null,
            diagnostics,
            diagnostics,
            "-Xlint:all",
            "-Werror",
            "-cp",
            clientPath,
            "-d",
            work.toString(),
            source.toString());
    assertEquals(0, compiled, diagnostics.toString(StandardCharsets.UTF_8));

    try (Daemon daemon = TestDaemons.start(root, ApiServer.Limits.DEFAULT)) {
      ProcessBuilder agent =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  work + File.pathSeparator + clientPath,
                  "BuildAgentExample",
                  TestDaemons.MACHINE)
              .redirectErrorStream(true);
      agent.environment().put("BUILDHOST_STATE_DIR", root.resolve("state").toString());
      Process run = agent.start();
      String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(run.waitFor(120, TimeUnit.SECONDS), "the example ended");
      assertEquals(0, run.exitValue(), out);
      List<String> lines = out.lines().toList();
      assertTrue(lines.get(0).matches(TestDaemons.MACHINE + "-\\S+: STOPPED \\(\\w+\\)"), out);
      assertTrue(out.contains("status: success"), "the worker's result is printed:\n" + out);
      assertEquals(List.of(), daemon.manager().list(), "the example deleted its instance");
    }
  }
}
