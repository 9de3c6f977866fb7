package dev.buildhost.manager.bootstrap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.ManagerException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Toolchain ids from the folders the monitor publishes, and from the daemon's setting. */
class ToolchainsTest {

  @TempDir Path root;

  private Path publish(String name, String checksumFileName, String content) throws IOException {
    Path folder = Files.createDirectories(root.resolve(name));
    Files.writeString(folder.resolve("gcc.tar.gz"), "not really a toolchain");
    return Files.writeString(folder.resolve(checksumFileName), content);
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  @Test
  void theIdIsTheSha256OfThePublishedChecksumFile() throws Exception {
    Path stable = publish("stable", "toolchain.sha256", "abc  gcc.tar.gz\n");
    Path staging = publish("staging", "toolchain.sha256", "def  gcc.tar.gz\n");
    Toolchains toolchains = new Toolchains(root, Map.of());

    Map<String, Toolchain> current = toolchains.current();

    assertEquals(List.of("stable", "staging"), List.copyOf(current.keySet()));
    assertEquals(new Toolchain("stable", sha256(stable), "published"), current.get("stable"));
    assertEquals(sha256(staging), current.get("staging").id());
  }

  @Test
  void aNewChecksumFileIsANewIdAtOnce() throws Exception {
    Path sums = publish("stable", "toolchain.sha256", "abc  gcc.tar.gz\n");
    Toolchains toolchains = new Toolchains(root, Map.of());
    String before = toolchains.choose(null).id();

    Files.writeString(sums, "fed  gcc.tar.gz\n", StandardCharsets.UTF_8);

    String after = toolchains.choose(null).id();
    assertTrue(!before.equals(after), before);
    assertEquals(sha256(sums), after);
  }

  @Test
  void hiddenFoldersAndFoldersWithoutAChecksumFileAreNoToolchains() throws Exception {
    publish(".stable.tmp-123", "toolchain.sha256", "abc  gcc.tar.gz\n");
    Files.createDirectories(root.resolve("empty"));
    Files.writeString(root.resolve("stray-file"), "x");

    assertEquals(Map.of(), new Toolchains(root, Map.of()).current());
    assertEquals(Map.of(), new Toolchains(root.resolve("missing"), Map.of()).current());
  }

  @Test
  void theSettingGivesAndOverridesIds() throws Exception {
    publish("stable", "toolchain.sha256", "abc  gcc.tar.gz\n");
    Toolchains toolchains = new Toolchains(root, Map.of("stable", "pinned-1", "offline", "v2"));

    assertEquals(new Toolchain("stable", "pinned-1", "setting"), toolchains.choose("stable"));
    assertEquals(new Toolchain("offline", "v2", "setting"), toolchains.choose("offline"));
  }

  @Test
  void choosingNamesWhatIsWrong() throws Exception {
    ManagerException none =
        assertThrows(ManagerException.class, () -> new Toolchains(root, Map.of()).choose(null));
    assertEquals(ManagerException.Kind.CONFLICT, none.kind());
    assertTrue(none.getMessage().contains("this host has no toolchain"), none.getMessage());

    publish("stable", "toolchain.sha256", "a\n");
    publish("staging", "toolchain.sha256", "b\n");
    Toolchains two = new Toolchains(root, Map.of());
    ManagerException several = assertThrows(ManagerException.class, () -> two.choose(null));
    assertEquals(ManagerException.Kind.BAD_REQUEST, several.kind());
    assertTrue(several.getMessage().contains("stable, staging"), several.getMessage());

    ManagerException unknown = assertThrows(ManagerException.class, () -> two.choose("beta"));
    assertEquals(ManagerException.Kind.NOT_FOUND, unknown.kind());
    assertTrue(unknown.getMessage().contains("no toolchain 'beta'"), unknown.getMessage());

    ManagerException malformed =
        assertThrows(ManagerException.class, () -> two.choose("../stable\u0007"));
    assertEquals(ManagerException.Kind.BAD_REQUEST, malformed.kind());
    assertTrue(
        malformed.getMessage().contains("'../stable?' is malformed"), malformed.getMessage());
  }
}
