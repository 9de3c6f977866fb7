package dev.buildhost.it.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;

/**
 * The daemon jar as bin/buildhost and the package run it ({@code java -jar}, its own Class-Path and
 * launcher agent), for tests of what only that way of starting has: the tests' own daemons run from
 * the test class path, which holds every library.
 */
public final class DaemonJar {

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

  /** {@code buildhost daemon ARGS...} from the jar, started as {@code start} says. */
  public static List<String> daemonCommand(Path jar, Start start, List<String> args) {
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
    command.add("daemon");
    command.addAll(args);
    return command;
  }
}
