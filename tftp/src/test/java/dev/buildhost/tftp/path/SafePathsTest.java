package dev.buildhost.tftp.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildhost.tftp.protocol.Opcodes;
import dev.buildhost.tftp.protocol.TftpProtocolException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafePathsTest {
  @TempDir Path dir;
  Path root;
  SafePaths paths;

  @BeforeEach
  void setUp() throws Exception {
    root = Files.createDirectories(dir.resolve("root"));
    Files.writeString(dir.resolve("secret"), "outside");
    Files.writeString(root.resolve("inside.txt"), "hello");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("sub/file"), "x");
    Files.createSymbolicLink(root.resolve("escape"), dir.resolve("secret"));
    Files.createSymbolicLink(root.resolve("escape-dir"), dir);
    Files.createSymbolicLink(root.resolve("alias"), root.resolve("inside.txt"));
    paths = new SafePaths(root);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "../secret",
        "..\\secret",
        "....//secret",
        "...",
        "..",
        ".",
        "//etc/passwd",
        "//secret",
        "/../secret",
        "/..",
        "/./inside.txt",
        "/",
        "//",
        "///inside.txt",
        "/.hidden",
        "/sub//file",
        "/escape",
        "sub//file",
        "sub/",
        "%2e%2e/secret",
        "%2e%2e%2fsecret",
        "a\u0001b",
        "a\nb",
        "a b",
        "sub/../inside.txt",
        ".hidden",
        "sub/.x",
        "caf\u00e9",
        "a:b",
        "a*",
        "",
        "\u007f"
      })
  void hostileNamesAreRefused(String name) {
    TftpProtocolException e =
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead(name));
    assertEquals(Opcodes.ERR_ACCESS_VIOLATION, e.errorCode(), e.getMessage());
    assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite(name));
  }

  @Test
  void aLeadingSlashMeansTheRoot() throws Exception {
    assertEquals(root.toRealPath().resolve("inside.txt"), paths.resolveForRead("/inside.txt"));
    assertEquals(root.toRealPath().resolve("sub/file"), paths.resolveForRead("/sub/file"));
    assertEquals(root.toRealPath().resolve("sub/new"), paths.resolveForWrite("/sub/new"));
    assertEquals("sub/file", SafePaths.checkName("/sub/file"));
    assertEquals("sub/file", SafePaths.checkName("sub/file"));
    // the host's /etc/passwd and the file next to the root are not what /etc/passwd and /secret
    // name
    assertEquals(
        Opcodes.ERR_FILE_NOT_FOUND,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("/etc/passwd"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_FILE_NOT_FOUND,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("/secret"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite("/etc/passwd"))
            .errorCode());
  }

  @Test
  void refusalsSayWhatIsWrong() {
    assertEquals(
        "the root is not a file",
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("/")).getMessage());
    assertEquals(
        "empty path component",
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("//etc/passwd"))
            .getMessage());
    assertEquals(
        "path components may not start with '.'",
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("/../secret"))
            .getMessage());
    assertEquals(
        "empty file name",
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("")).getMessage());
  }

  @Test
  void longNamesAreRefused() {
    assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("a".repeat(65536)));
  }

  @Test
  void symlinksLeadingOutAreRefused() {
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("escape"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("escape-dir/secret"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite("escape-dir/new"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite("escape"))
            .errorCode());
  }

  @Test
  void resolvesNamesInside() throws Exception {
    assertEquals(root.toRealPath().resolve("inside.txt"), paths.resolveForRead("inside.txt"));
    assertEquals(root.toRealPath().resolve("inside.txt"), paths.resolveForRead("alias"));
    assertEquals(root.toRealPath().resolve("sub/file"), paths.resolveForRead("sub/file"));
    assertEquals(root.toRealPath().resolve("sub/new"), paths.resolveForWrite("sub/new"));
    assertEquals(
        root.toRealPath().resolve("a-b_c+d=e,f@g~h#1.txt"),
        paths.resolveForWrite("a-b_c+d=e,f@g~h#1.txt"));
  }

  @Test
  void missingFilesAndFoldersAreReported() {
    assertEquals(
        Opcodes.ERR_FILE_NOT_FOUND,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("nope")).errorCode());
    assertEquals(
        Opcodes.ERR_FILE_NOT_FOUND,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForRead("sub")).errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite("nodir/x"))
            .errorCode());
    assertEquals(
        Opcodes.ERR_ACCESS_VIOLATION,
        assertThrows(TftpProtocolException.class, () -> paths.resolveForWrite("sub")).errorCode());
  }
}
