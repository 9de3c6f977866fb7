package dev.buildhost.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigFormatTest {

  private static ConfigText parse(String text) {
    return ConfigFormat.parse("f.conf", text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  // StringConcatToTextBlock: the text holds trailing blanks and a CR, which a text block would
  // lose.
  @SuppressWarnings("StringConcatToTextBlock")
  void keyEqualsValueLinesWithCommentsAndBlankLines() {
    ConfigText config =
        parse(
            "# settings\n\nroot = /srv/build\n  max_instances=4  \r\n"
                + "docker_host = unix:///run/docker.sock?x=1\ninstall_command = sh -c 'a = b' # not a comment\n");
    assertEquals(
        List.of(
            new ConfigEntry("root", "/srv/build", 3, "f.conf:3"),
            new ConfigEntry("max_instances", "4", 4, "f.conf:4"),
            new ConfigEntry("docker_host", "unix:///run/docker.sock?x=1", 5, "f.conf:5"),
            new ConfigEntry("install_command", "sh -c 'a = b' # not a comment", 6, "f.conf:6")),
        config.entries());
    assertEquals(List.of(), config.warnings());
  }

  @Test
  void theDashedSpellingIsReadWithAWarningNamingFileLineAndTheNewSpelling() {
    ConfigText config = parse("root = /a\nstate-dir = /s\ntoolchain_url.my-chain = http://x/\n");
    assertEquals(
        List.of("root", "state_dir", "toolchain_url.my-chain"),
        config.entries().stream().map(ConfigEntry::key).toList());
    assertEquals(
        List.of("f.conf:2: 'state-dir' is the old spelling; write 'state_dir'"), config.warnings());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "root = /a\\nroot = /b|f.conf:2: 'root' is set a second time (first on line 1)",
        "state_dir = /a\\n\\nstate-dir = /b|f.conf:3: 'state_dir' is set a second time (first on line 1)",
        "# ok\\nroot /a|f.conf:2: expected 'key = value', got 'root /a'",
        " = /a|f.conf:1: expected 'key = value', the key is missing in '= /a'",
        "root\u001b[2J|f.conf:1: expected 'key = value', got 'root\\x1b[2J'"
      })
  void aBadLineIsNamedByFileAndLine(String text, String message) {
    ConfigFileException e =
        assertThrows(ConfigFileException.class, () -> parse(text.replace("\\n", "\n")));
    assertEquals(message, e.getMessage());
  }

  @Test
  void aFileThatIsNotUtf8IsRefused() {
    ConfigFileException e =
        assertThrows(
            ConfigFileException.class,
            () -> ConfigFormat.parse("f.conf", new byte[] {'r', '=', (byte) 0xff}));
    assertEquals("f.conf: not UTF-8 text", e.getMessage());
  }

  @Test
  void aMissingOrHugeFileIsNamed(@TempDir Path dir) throws Exception {
    ConfigFileException missing =
        assertThrows(ConfigFileException.class, () -> ConfigFormat.read(dir.resolve("no.conf")));
    assertEquals(
        "the config file " + dir.resolve("no.conf") + " does not exist", missing.getMessage());
    Path huge = dir.resolve("huge.conf");
    Files.write(huge, new byte[(int) ConfigFormat.MAX_BYTES + 1]);
    ConfigFileException tooBig =
        assertThrows(ConfigFileException.class, () -> ConfigFormat.read(huge));
    assertTrue(tooBig.getMessage().startsWith(huge + ": larger than"), tooBig.getMessage());
  }

  @Test
  void flagsAreKeysWithDashes() {
    assertEquals("--state-dir", ConfigFormat.flagOf("state_dir"));
    assertEquals("state_dir", ConfigFormat.canonicalKey("state-dir"));
  }
}
