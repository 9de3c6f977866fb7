package dev.buildhost.manager.classpath;

import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;

/**
 * Libraries that the daemon jar leaves off its class path until a feature that needs them is
 * configured: the fleet's etcd client (jetcd with gRPC, Netty, Vert.x and protobuf) and Bouncy
 * Castle, which docker-java needs only to read the certificates of an engine reached over TLS.
 *
 * <p>Why: the first service lookup (slf4j's, the JDK's logger finder) opens every jar of the class
 * path and keeps each one's central directory on the heap. These forty jars cost an idle daemon
 * about 3 MiB resident that it never used (bench/footprint, doc/operations.md).
 *
 * <p>The daemon jar's manifest names each group's jars in an attribute of its own, and names this
 * class as its {@code Launcher-Agent-Class} (and {@code Premain-Class}): {@code java -jar} starts
 * it before {@code main}, and its {@link Instrumentation} appends a group's jars to the class path
 * when {@link #require} asks, before the first of their classes is needed. Run from a class path
 * that holds them (the tests), there is nothing to append.
 */
public final class OptionalLibraries {

  /** A group of libraries, appended together. */
  public enum Group {
    FLEET("Buildhost-Fleet-Class-Path", "io.etcd.jetcd.Client", "the fleet's etcd client"),
    DOCKER_TLS(
        "Buildhost-Docker-Tls-Class-Path",
        "org.bouncycastle.openssl.PEMParser",
        "the Docker engine's TLS certificates");

    private final String attribute;
    private final String probe;
    private final String what;

    Group(String attribute, String probe, String what) {
      this.attribute = attribute;
      this.probe = probe;
      this.what = what;
    }

    /** The manifest attribute that lists the group's jars, relative to the daemon jar. */
    String attribute() {
      return attribute;
    }

    /** A class of the group: when it can be loaded, so can the rest. */
    String probe() {
      return probe;
    }

    /** What the group's libraries are for, in a message. */
    String what() {
      return what;
    }
  }

  private static volatile Instrumentation instrumentation;
  private static final Set<Group> ready = EnumSet.noneOf(Group.class);

  private OptionalLibraries() {}

  /** The JVM calls this before {@code main}: the daemon jar names this class its launcher agent. */
  public static void agentmain(String unused, Instrumentation given) {
    instrumentation = given;
  }

  /**
   * The same, for {@code -javaagent:buildhost-manager.jar}: the packaged launcher's JSON log format
   * runs the daemon from a class path ({@code -cp}, to add logback), where the JVM starts no
   * launcher agent.
   */
  public static void premain(String unused, Instrumentation given) {
    instrumentation = given;
  }

  /**
   * Makes the group's classes loadable, appending its jars to the class path if they are not on it.
   *
   * @throws IOException naming what is missing, when they cannot be appended
   */
  public static synchronized void require(Group group) throws IOException {
    if (!ready.contains(group)) {
      require(group, runningJar(), instrumentation, ClassLoader.getSystemClassLoader());
      ready.add(group);
    }
  }

  /**
   * As {@link #require(Group)}, for the daemon jar {@code jar} (null: none) and the class loader
   * that {@code appender} (null: none) appends to.
   */
  static void require(Group group, Path jar, Instrumentation appender, ClassLoader loader)
      throws IOException {
    if (loadable(group, loader)) {
      return;
    }
    String missing =
        "the libraries of " + group.what() + " are not on the class path (no " + group.probe();
    if (jar == null) {
      throw new IOException(missing + ", and the daemon does not run from its jar)");
    }
    String paths;
    try (JarFile running = new JarFile(jar.toFile())) {
      paths =
          running.getManifest() == null
              ? null
              : running.getManifest().getMainAttributes().getValue(group.attribute());
    }
    if (paths == null || paths.isBlank()) {
      throw new IOException(missing + ", and " + jar + " names none in " + group.attribute() + ")");
    }
    if (appender == null) {
      throw new IOException(
          missing
              + "): start "
              + jar
              + " with java -jar, as bin/buildhost does, so that it can add those named in its "
              + group.attribute());
    }
    List<Path> libraries = new ArrayList<>();
    for (String path : paths.trim().split(" +")) {
      Path library = jar.resolveSibling(path);
      if (!Files.isRegularFile(library)) {
        throw new IOException(
            "cannot add " + library + " to the class path, for " + group.what() + ": no such file");
      }
      libraries.add(library);
    }
    for (Path library : libraries) {
      appender.appendToSystemClassLoaderSearch(new JarFile(library.toFile()));
    }
    if (!loadable(group, loader)) {
      throw new IOException(
          missing + " after adding the jars " + jar + " names in " + group.attribute() + ")");
    }
  }

  private static boolean loadable(Group group, ClassLoader loader) {
    return loader.getResource(group.probe().replace('.', '/') + ".class") != null;
  }

  /** The jar this class was loaded from, or null when it came from a folder. */
  private static Path runningJar() {
    CodeSource source = OptionalLibraries.class.getProtectionDomain().getCodeSource();
    if (source == null) {
      return null;
    }
    try {
      Path location = Path.of(source.getLocation().toURI());
      return Files.isRegularFile(location) ? location : null;
    } catch (URISyntaxException | IllegalArgumentException e) {
      return null;
    }
  }
}
