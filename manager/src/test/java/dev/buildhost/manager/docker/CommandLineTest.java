package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class CommandLineTest {

  @Test
  void splitsOnBlanks() {
    assertEquals(
        List.of("/usr/local/bin/buildhost-worker", "-v", "x"),
        CommandLine.split("  /usr/local/bin/buildhost-worker\t-v   x \n"));
  }

  @Test
  void blankCommandHasNoWords() {
    assertEquals(List.of(), CommandLine.split("   "));
  }

  @Test
  void singleQuotesAreLiteral() {
    assertEquals(
        List.of("/bin/sh", "-c", "trap '' TERM; echo $HOME \\n"),
        CommandLine.split("/bin/sh -c 'trap '\\'''\\'' TERM; echo $HOME \\n'"));
  }

  @Test
  void doubleQuotesEscapeOnlyShellSpecials() {
    assertEquals(
        List.of("echo", "a \"b\" $x \\n"), CommandLine.split("echo \"a \\\"b\\\" \\$x \\n\""));
  }

  @Test
  void quotedPartsJoinTheirWord() {
    assertEquals(List.of("--name=a b", "empty", ""), CommandLine.split("--name='a b' empty ''"));
  }

  @Test
  void backslashEscapesOutsideQuotesAndJoinsLines() {
    assertEquals(List.of("a b", "cd"), CommandLine.split("a\\ b c\\\nd"));
  }

  @Test
  void noShellExpansion() {
    assertEquals(
        List.of("echo", "$HOME", "*", "|", "x>y"), CommandLine.split("echo $HOME * | x>y"));
  }

  @Test
  void unterminatedQuotesAreErrors() {
    assertEquals(
        "unterminated single quote at column 6",
        assertThrows(IllegalArgumentException.class, () -> CommandLine.split("echo 'abc"))
            .getMessage());
    assertEquals(
        "unterminated double quote at column 6",
        assertThrows(IllegalArgumentException.class, () -> CommandLine.split("echo \"a\\\""))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> CommandLine.split("echo \\"));
  }
}
