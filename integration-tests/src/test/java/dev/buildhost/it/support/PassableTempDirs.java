package dev.buildhost.it.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * The integration tests' {@code @TempDir} folders, mode 0755 instead of JUnit's 0700: a daemon's
 * root in them must be passable by QEMU's own user (libvirt-qemu) and by dnsmasq's, as on a real
 * host. Named in src/test/resources/junit-platform.properties ({@code
 * junit.jupiter.tempdir.factory.default}); JUnit still deletes the folders.
 */
public final class PassableTempDirs implements TempDirFactory {
  @Override
  public Path createTempDirectory(
      AnnotatedElementContext elementContext, ExtensionContext extensionContext)
      throws IOException {
    Path dir = Files.createTempDirectory("junit");
    // Set after creation: the attribute form of createTempDirectory is narrowed by the umask.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }
}
