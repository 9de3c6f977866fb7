package dev.buildhost.manager.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.machine.ManifestLexer.Pair;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The build2 manifest syntax, checked against the behaviour of libbutl's manifest parser. */
class ManifestLexerTest {

  private static final Path FILE = Path.of("/m/x/x-1.0/manifest");

  private static List<Pair> pairs(String text) {
    return ManifestLexer.pairs(FILE, text);
  }

  private static String only(String text) {
    List<Pair> pairs = pairs(text);
    assertEquals(1, pairs.size(), () -> "pairs: " + pairs);
    return pairs.get(0).value();
  }

  @Test
  void simplePairsWithCommentsBlankLinesAndBlanksAroundNamesAndValues() {
    List<Pair> pairs =
        pairs(
            """
        # a comment
        : 1

          name:   x\t
        \t# an indented comment
        summary :a # not a comment
        """);
    assertEquals(
        List.of(
            new Pair("name", "x", 4, false), new Pair("summary", "a # not a comment", 6, false)),
        pairs);
  }

  @Test
  void formatVersionIsOptionalButMustBeOne() {
    assertEquals("x", only("name: x\n"));
    assertEquals("x", only(":1\nname: x"));
    ManifestException e = assertThrows(ManifestException.class, () -> pairs(": 2\nname: x\n"));
    assertEquals(
        FILE + ":1: unsupported manifest format version '2' (only ': 1' is known)", e.getMessage());
  }

  @Test
  void aSecondManifestIsRefused() {
    ManifestException e =
        assertThrows(ManifestException.class, () -> pairs(": 1\nname: x\n:\nname: y\n"));
    assertEquals(3, e.line());
    assertTrue(e.getMessage().contains("holds one manifest"), e.getMessage());
  }

  @Test
  void lineWithoutColonNamesTheLine() {
    ManifestException e =
        assertThrows(ManifestException.class, () -> pairs("name: x\nsummary x\n"));
    assertEquals(
        FILE + ":2: 'summary x' is not a 'name: value' line (':' expected after the name)",
        e.getMessage());
  }

  @Test
  void everySyntaxErrorIsReportedAtOnceInLineOrder() {
    ManifestException e =
        assertThrows(
            ManifestException.class,
            () ->
                pairs(
                    ": 2\nname: x\nsummary x\ntype: kvm\nram-minimum 1G\ndisk: \\\nnever ended\n"));
    assertEquals(List.of(1, 3, 5, 6), e.problems().stream().map(ManifestException::line).toList());
    assertEquals(
        String.join(
            "\n",
            FILE + ":1: unsupported manifest format version '2' (only ': 1' is known)",
            FILE + ":3: 'summary x' is not a 'name: value' line (':' expected after the name)",
            FILE + ":5: 'ram-minimum 1G' is not a 'name: value' line (':' expected after the name)",
            FILE
                + ":6: disk: multi-line value is not terminated (a line holding just '\\' must end it)"),
        e.getMessage());
  }

  @Test
  void continuationJoinsLinesKeepingTheNextLinesLeadingBlanks() {
    assertEquals("one two three", only("summary: one \\\ntwo\\\n three\n"));
  }

  @Test
  void continuationLineStartingWithHashIsValueNotComment() {
    assertEquals("a#b", only("summary: a\\\n#b\n"));
  }

  @Test
  void continuationIntoEndOfFileOrBlankLineEndsTheValue() {
    assertEquals("a", only("summary: a\\"));
    List<Pair> pairs = pairs("summary: a\\\n\nname: x\n");
    assertEquals("a", pairs.get(0).value());
    assertEquals(new Pair("name", "x", 3, false), pairs.get(1));
  }

  @Test
  void doubledTrailingBackslashIsOneLiteralBackslash() {
    List<Pair> pairs = pairs("cmdline: a\\\\\nname: x\n");
    assertEquals("a\\", pairs.get(0).value());
    assertEquals("name", pairs.get(1).name());
    assertEquals("a\\\\", only("cmdline: a\\\\\\\n"));
    assertEquals("a\\b", only("cmdline: a\\b\n"));
  }

  @Test
  void lineOfJustBackslashAfterContinuationIsLiteralNewlineInSimpleMode() {
    assertEquals("x\ny", only("changes: x\\\n\\\ny\n"));
  }

  @Test
  void oldStyleMultiLineValue() {
    List<Pair> pairs = pairs("changes:\\\n1.1: bigger disk\n  1.0: first\n\\\nname: x\n");
    assertEquals(new Pair("changes", "1.1: bigger disk\n  1.0: first", 1, true), pairs.get(0));
    assertEquals(new Pair("name", "x", 5, false), pairs.get(1));
  }

  @Test
  void newStyleMultiLineValueKeepsBlanksCommentsAndEmptyLines() {
    assertEquals("# kept\n\n  indented  ", only("changes:\n\\\n# kept\n\n  indented  \n\\\n"));
  }

  @Test
  void multiLineValueHonoursContinuationAndEscapedBackslashLine() {
    assertEquals("ab\n\\", only("changes: \\\na\\\nb\n\\\\\n\\\n"));
  }

  @Test
  void emptyMultiLineValue() {
    assertEquals("", only("changes:\\\n\\\n"));
  }

  @Test
  void unterminatedMultiLineValueIsAnError() {
    ManifestException e =
        assertThrows(
            ManifestException.class, () -> pairs("name: x\nchanges:\\\nline\nsummary: s\n"));
    assertEquals(
        FILE
            + ":2: changes: multi-line value is not terminated (a line holding just '\\' "
            + "must end it)",
        e.getMessage());
  }

  @Test
  void crlfLineEndingsAreAccepted() {
    List<Pair> pairs = pairs("name: x\r\nchanges:\\\r\na\r\nb\r\n\\\r\n");
    assertEquals("x", pairs.get(0).value());
    assertEquals("a\nb", pairs.get(1).value());
  }

  @Test
  void emptyTextHasNoPairs() {
    assertEquals(List.of(), pairs(""));
    assertEquals(List.of(), pairs("# only a comment\n\n"));
  }
}
