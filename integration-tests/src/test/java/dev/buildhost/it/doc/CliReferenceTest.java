package dev.buildhost.it.doc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.support.Requirement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed CLI reference (doc/cli.md's generated section, doc/man/buildhost.1) must be what
 * the code's picocli models render. Fast and daemon-free, so it runs with the unit tests.
 */
class CliReferenceTest {

  static final String REGENERATE_PROPERTY = "buildhost.doc.regenerate";
  static final String HOW =
      "regenerate with: mvn -B -q -o -pl integration-tests -am test "
          + "-Dtest=CliReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -D"
          + REGENERATE_PROPERTY
          + "=true"
          + "  (then review and commit doc/cli.md and doc/man/buildhost.1)";

  private static Path repo;
  private static List<CliReference.Entry> entries;

  @BeforeAll
  static void render() throws IOException {
    repo = CliReference.repository();
    if (Boolean.getBoolean(REGENERATE_PROPERTY)) {
      System.out.println("CliReferenceTest: regenerated " + CliReference.regenerate(repo));
    }
    entries = CliReference.entries();
  }

  @Test
  void cliMarkdownMatchesTheCode() throws IOException {
    String committed = Files.readString(repo.resolve(CliReference.CLI_MD), StandardCharsets.UTF_8);
    String expected = CliReference.cliMarkdown(committed, entries);
    if (!committed.equals(expected)) {
      fail(
          CliReference.CLI_MD
              + " differs from the CLI's help (first difference at line "
              + firstDifference(committed, expected)
              + "); "
              + HOW);
    }
  }

  @Test
  void manPageMatchesTheCode() throws IOException {
    Path man = repo.resolve(CliReference.MAN_PAGE);
    String committed = Files.exists(man) ? Files.readString(man, StandardCharsets.UTF_8) : "";
    String expected = CliReference.manPage(entries);
    if (!committed.equals(expected)) {
      fail(
          CliReference.MAN_PAGE
              + " differs from the CLI's help (first difference at line "
              + firstDifference(committed, expected)
              + "); "
              + HOW);
    }
  }

  @Test
  void referenceCoversEveryVisibleVerbAndTheServers() {
    List<String> names = entries.stream().map(CliReference.Entry::name).toList();
    for (String verb :
        List.of(
            "buildhost",
            "buildhost list",
            "buildhost start",
            "buildhost daemon",
            "buildhost tftp",
            "buildhost monitor")) {
      assertTrue(names.contains(verb), "the reference lacks " + verb + ": " + names);
    }
    assertTrue(
        entries.stream().allMatch(e -> e.usage().startsWith("Usage: ")),
        "every entry is a picocli usage message");
  }

  /** groff renders the man page without a warning. */
  @Test
  void manPageRendersWithoutWarnings() throws Exception {
    Path groff = Requirement.command("groff");
    Process process =
        new ProcessBuilder(
                groff.toString(),
                "-man",
                "-Tutf8",
                "-ww",
                "-z",
                repo.resolve(CliReference.MAN_PAGE).toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "groff did not finish");
    assertEquals(0, process.exitValue(), "groff failed: " + output);
    assertEquals("", output.strip(), "groff warned about " + CliReference.MAN_PAGE);
  }

  private static int firstDifference(String a, String b) {
    String[] x = a.split("\n", -1);
    String[] y = b.split("\n", -1);
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      if (!x[i].equals(y[i])) {
        return i + 1;
      }
    }
    return Math.min(x.length, y.length) + 1;
  }
}
