package dev.buildhost.manager.classpath;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.classpath.OptionalLibraries.Group;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Proxy;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the daemon adds an optional group of libraries, with a class loader of the test's that holds
 * none of them and an appender that adds to it as the JVM's instrumentation adds to the class path
 * (DaemonJarFleetIT runs the real one, from the daemon jar).
 */
class OptionalLibrariesTest {

  @TempDir Path tmp;

  /** A class loader that sees only the JDK and what is appended to it. */
  private static final class GrowingLoader extends URLClassLoader {
    GrowingLoader() {
      super(new URL[0], null);
    }

    void append(Path jar) throws MalformedURLException {
      addURL(jar.toUri().toURL());
    }
  }

  private final GrowingLoader loader = new GrowingLoader();
  private final List<String> appended = new ArrayList<>();

  private Instrumentation appender() {
    return (Instrumentation)
        Proxy.newProxyInstance(
            getClass().getClassLoader(),
            new Class<?>[] {Instrumentation.class},
            (proxy, method, args) -> {
              if (!method.getName().equals("appendToSystemClassLoaderSearch")) {
                throw new UnsupportedOperationException(method.getName());
              }
              try (JarFile jar = (JarFile) args[0]) {
                appended.add(jar.getName());
                loader.append(Path.of(jar.getName()));
              }
              return null;
            });
  }

  private Path daemonJar(String fleetClassPath) throws IOException {
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    if (fleetClassPath != null) {
      manifest.getMainAttributes().putValue(Group.FLEET.attribute(), fleetClassPath);
    }
    Path jar = tmp.resolve("buildhost-manager.jar");
    try (OutputStream out = Files.newOutputStream(jar)) {
      new JarOutputStream(out, manifest).finish(); // a jar of only the manifest
    }
    return jar;
  }

  /** The jar the test class path holds jetcd's client in. */
  private static Path jetcdJar() throws Exception {
    return Path.of(
        io.etcd.jetcd.Client.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  @Test
  void aGroupOnTheClassPathAlreadyNeedsNothingAppended() {
    assertDoesNotThrow(
        () ->
            OptionalLibraries.require(Group.FLEET, null, null, ClassLoader.getSystemClassLoader()));
    assertDoesNotThrow(
        () ->
            OptionalLibraries.require(
                Group.DOCKER_TLS, null, null, ClassLoader.getSystemClassLoader()));
  }

  @Test
  void theJarsTheManifestNamesAreAppendedUntilTheGroupsClassLoads() throws Exception {
    assertNull(loader.getResource("io/etcd/jetcd/Client.class"));
    Path jar = daemonJar(jetcdJar().toString());

    OptionalLibraries.require(Group.FLEET, jar, appender(), loader);

    assertEquals(List.of(jetcdJar().toString()), appended);
    assertNotNull(loader.getResource("io/etcd/jetcd/Client.class"));
  }

  @Test
  void aLibraryTheManifestNamesThatIsMissingIsNamedAndNoneOfTheGroupIsAppended() throws Exception {
    Path jar = daemonJar(jetcdJar() + " lib/jetcd-core-0.0.jar");

    IOException e =
        assertThrows(
            IOException.class,
            () -> OptionalLibraries.require(Group.FLEET, jar, appender(), loader));

    assertEquals(
        "cannot add "
            + tmp.resolve("lib/jetcd-core-0.0.jar")
            + " to the class path, for the fleet's etcd client: no such file",
        e.getMessage());
    assertEquals(List.of(), appended);
  }

  @Test
  void withoutTheLauncherAgentTheErrorSaysToStartTheJarWithJavaJar() throws Exception {
    Path jar = daemonJar(jetcdJar().toString());

    IOException e =
        assertThrows(
            IOException.class, () -> OptionalLibraries.require(Group.FLEET, jar, null, loader));

    assertEquals(
        "the libraries of the fleet's etcd client are not on the class path (no"
            + " io.etcd.jetcd.Client): start "
            + jar
            + " with java -jar, as bin/buildhost does, so that it can add those named in its"
            + " Buildhost-Fleet-Class-Path",
        e.getMessage());
  }

  @Test
  void aJarThatNamesNoLibrariesForTheGroupIsNamedInTheError() throws Exception {
    Path jar = daemonJar(null);

    IOException e =
        assertThrows(
            IOException.class,
            () -> OptionalLibraries.require(Group.FLEET, jar, appender(), loader));

    assertTrue(
        e.getMessage().endsWith(", and " + jar + " names none in Buildhost-Fleet-Class-Path)"),
        e.getMessage());
  }

  @Test
  void outsideAJarAMissingGroupIsAnErrorThatNamesTheClassNotFound() {
    IOException e =
        assertThrows(
            IOException.class,
            () -> OptionalLibraries.require(Group.DOCKER_TLS, null, appender(), loader));

    assertEquals(
        "the libraries of the Docker engine's TLS certificates are not on the class path (no"
            + " org.bouncycastle.openssl.PEMParser, and the daemon does not run from its jar)",
        e.getMessage());
  }
}
