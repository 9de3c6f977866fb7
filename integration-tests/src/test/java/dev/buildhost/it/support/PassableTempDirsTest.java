package dev.buildhost.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tests' temporary folders are passable by QEMU's own user, as a daemon's root must be. */
class PassableTempDirsTest {
  @TempDir Path dir;

  @Test
  void aTestsTempFolderIsOpenToOthersAndQemusUserReadsAFileInIt() throws Exception {
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("reading as libvirt-qemu needs root (runuser)");
    }
    Requirement.command("runuser");
    Path file = Files.writeString(dir.resolve("disk.txt"), "a revision's file\n");
    Process reader =
        new ProcessBuilder("runuser", "-u", "libvirt-qemu", "--", "cat", file.toString())
            .redirectErrorStream(true)
            .start();
    String read = new String(reader.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    reader.waitFor(30, TimeUnit.SECONDS);
    assertEquals("a revision's file\n", read, "libvirt-qemu reads through the temp folder");
  }
}
