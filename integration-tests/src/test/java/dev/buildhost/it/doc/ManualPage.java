package dev.buildhost.it.doc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The fenced code blocks of one Markdown page of the manual, as the doc tests see them: {@code sh
 * test} blocks are run, a {@code text expected} block right after one lists lines its output must
 * contain, and other shell blocks ({@code sh}, {@code bash}, {@code shell}, {@code console}) are
 * shown only, which needs a reason in {@link ManualStructureTest}'s allow-list.
 *
 * @param name the page's path relative to the repository, e.g. {@code doc/api.md}
 * @param blocks the page's blocks of interest, in document order
 */
record ManualPage(String name, List<Block> blocks) {

  enum Kind {
    RUN,
    EXPECTED,
    SHOWN_SHELL
  }

  /**
   * One fenced block.
   *
   * @param line the 1-based line of its opening fence
   * @param text its content, without the fences
   * @param expected for a RUN block, the text of the expected block after it, else null
   */
  record Block(Kind kind, int line, String text, String expected) {
    /** The first non-blank line: how the allow-list names a shown block. */
    String firstLine() {
      return text.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("");
    }
  }

  private static final Pattern OPEN = Pattern.compile("^ {0,3}(`{3,})\\s*([^`]*)$");
  private static final List<String> SHELLS = List.of("sh", "bash", "shell", "console");

  /** The top README.md and every page under doc/, sorted by path. */
  static List<ManualPage> all(Path repo) throws IOException {
    List<ManualPage> pages = new ArrayList<>();
    pages.add(read(repo, repo.resolve("README.md")));
    try (Stream<Path> files = Files.walk(repo.resolve("doc"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".md")).sorted().toList()) {
        pages.add(read(repo, file));
      }
    }
    return pages;
  }

  static ManualPage read(Path repo, Path file) throws IOException {
    String name = repo.relativize(file).toString();
    return parse(name, Files.readString(file, StandardCharsets.UTF_8));
  }

  /** Parses a page; a misplaced expected block or an unclosed fence is an error naming the line. */
  static ManualPage parse(String name, String markdown) {
    List<Block> blocks = new ArrayList<>();
    String[] lines = markdown.split("\n", -1);
    int i = 0;
    Block lastRun = null;
    boolean onlyBlankSinceLastRun = false;
    while (i < lines.length) {
      Matcher open = OPEN.matcher(lines[i]);
      if (!open.matches()) {
        if (!lines[i].isBlank()) {
          onlyBlankSinceLastRun = false;
        }
        i++;
        continue;
      }
      int start = i + 1;
      String fence = open.group(1);
      String info = open.group(2).strip();
      StringBuilder text = new StringBuilder();
      i++;
      while (i < lines.length && !lines[i].strip().matches("`{" + fence.length() + ",}")) {
        text.append(lines[i]).append('\n');
        i++;
      }
      if (i >= lines.length) {
        throw new IllegalArgumentException(
            name + ":" + start + ": the code block opened here is never closed");
      }
      i++; // the closing fence
      String[] words = info.split("\\s+");
      if (info.equals("text expected")) {
        if (lastRun == null || !onlyBlankSinceLastRun) {
          throw new IllegalArgumentException(
              name
                  + ":"
                  + start
                  + ": a 'text expected' block must directly follow a 'sh test' block (blank lines only between)");
        }
        Block withExpectation =
            new Block(Kind.RUN, lastRun.line(), lastRun.text(), text.toString());
        blocks.set(blocks.size() - 1, withExpectation);
        lastRun = null;
        onlyBlankSinceLastRun = false;
      } else if (words.length == 2 && SHELLS.contains(words[0]) && words[1].equals("test")) {
        lastRun = new Block(Kind.RUN, start, text.toString(), null);
        blocks.add(lastRun);
        onlyBlankSinceLastRun = true;
      } else if (SHELLS.contains(words[0])) {
        blocks.add(new Block(Kind.SHOWN_SHELL, start, text.toString(), null));
        lastRun = null;
        onlyBlankSinceLastRun = false;
      } else {
        lastRun = null;
        onlyBlankSinceLastRun = false;
      }
    }
    return new ManualPage(name, List.copyOf(blocks));
  }

  List<Block> runnable() {
    return blocks.stream().filter(b -> b.kind() == Kind.RUN).toList();
  }

  List<Block> shownShell() {
    return blocks.stream().filter(b -> b.kind() == Kind.SHOWN_SHELL).toList();
  }

  /**
   * Checks the output against the expected lines: each non-blank expected line, stripped, must be
   * part of an output line, and they must come in order. Returns null when all match, else what is
   * missing.
   */
  static String missingExpected(String expected, String output) {
    if (expected == null) {
      return null;
    }
    String[] out = output.split("\n", -1);
    int next = 0;
    for (String raw : expected.split("\n")) {
      String want = raw.strip();
      if (want.isEmpty()) {
        continue;
      }
      int found = -1;
      for (int j = next; j < out.length; j++) {
        if (out[j].contains(want)) {
          found = j;
          break;
        }
      }
      if (found < 0) {
        return "expected a line containing '"
            + want
            + "'"
            + (next > 0 ? " after output line " + next + " ('" + out[next - 1].strip() + "')" : "");
      }
      next = found + 1;
    }
    return null;
  }
}
