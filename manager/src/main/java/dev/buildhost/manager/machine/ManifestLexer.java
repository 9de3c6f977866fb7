package dev.buildhost.manager.machine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits build2 manifest text into name/value pairs, following libbutl's manifest parser:
 *
 * <ul>
 *   <li>blank lines and lines whose first non-blank character is {@code #} are skipped (a {@code #}
 *       later on a line is part of the value);
 *   <li>a pair is {@code name: value}; blanks around the name, after the colon and at the end of a
 *       simple value are dropped;
 *   <li>a line ending in one {@code \} continues on the next line (backslash and newline dropped,
 *       the next line's leading blanks kept); {@code \\} at the end of a line is one literal
 *       backslash; after a continuation, a line holding just {@code \} is a literal newline;
 *   <li>a value of just {@code \} ({@code name: \}), or an empty value followed by a line holding
 *       just {@code \}, starts a multi-line value that runs up to a line holding just {@code \};
 *       its lines keep their blanks and are joined with newlines;
 *   <li>an optional first pair with an empty name ({@code : 1}) gives the format version, which
 *       must be 1. Unlike build2 we do not require it, and a file holds one manifest only.
 * </ul>
 */
final class ManifestLexer {

  /**
   * One pair; {@code line} is the line of the name, {@code multiLine} whether it used that mode.
   */
  record Pair(String name, String value, int line, boolean multiLine) {}

  private final Path file;
  private final String[] lines;
  private int index; // 0-based index of the next unread line

  private ManifestLexer(Path file, String text) {
    this.file = file;
    String normalized = text.replace("\r\n", "\n");
    if (normalized.endsWith("\n")) {
      normalized = normalized.substring(0, normalized.length() - 1);
    }
    this.lines = normalized.isEmpty() ? new String[0] : normalized.split("\n", -1);
  }

  /** The pairs of {@code text}, in order, without the format version pair. */
  static List<Pair> pairs(Path file, String text) {
    return new ManifestLexer(file, text).readAll();
  }

  /** Number of lines, for problems reported "at the end of the manifest". */
  static int lineCount(String text) {
    return new ManifestLexer(null, text).lines.length;
  }

  /** Every syntax error at once: a line that is not a pair is reported and the next one read. */
  private List<Pair> readAll() {
    List<Pair> pairs = new ArrayList<>();
    List<ManifestException> problems = new ArrayList<>();
    boolean first = true;
    while (skipBlankAndComments()) {
      Pair pair;
      try {
        pair = readPair();
      } catch (ManifestException e) {
        problems.add(e);
        first = false;
        continue;
      }
      if (pair.name().isEmpty()) {
        if (!first) {
          problems.add(
              error(
                  pair.line(),
                  null,
                  "a second manifest starts here (':' line); a machine manifest file holds one manifest"));
          break; // what follows belongs to that other manifest
        }
        if (!pair.value().equals("1")) {
          problems.add(
              error(
                  pair.line(),
                  null,
                  "unsupported manifest format version '"
                      + pair.value()
                      + "' (only ': 1' is known)"));
        }
      } else {
        pairs.add(pair);
      }
      first = false;
    }
    if (!problems.isEmpty()) {
      throw ManifestException.all(problems);
    }
    return pairs;
  }

  /** Moves to the next line holding a pair; false at the end of the text. */
  private boolean skipBlankAndComments() {
    while (index < lines.length) {
      String stripped = stripLeadingBlanks(lines[index]);
      if (!stripped.isEmpty() && stripped.charAt(0) != '#') {
        return true;
      }
      index++;
    }
    return false;
  }

  private Pair readPair() {
    int lineNumber = index + 1;
    String line = stripLeadingBlanks(lines[index++]);
    int nameEnd = 0;
    while (nameEnd < line.length() && !isNameEnd(line.charAt(nameEnd))) {
      nameEnd++;
    }
    String name = line.substring(0, nameEnd);
    String afterName = stripLeadingBlanks(line.substring(nameEnd));
    if (afterName.isEmpty() || afterName.charAt(0) != ':') {
      throw error(
          lineNumber,
          null,
          "'" + printable(line) + "' is not a 'name: value' line (':' expected after the name)");
    }
    String raw = stripLeadingBlanks(afterName.substring(1));

    boolean oldStyleMultiLine = raw.equals("\\");
    boolean newStyleMultiLine = raw.isEmpty() && index < lines.length && lines[index].equals("\\");
    if (oldStyleMultiLine || newStyleMultiLine) {
      if (newStyleMultiLine) {
        index++; // the introducer line
      }
      return new Pair(name, readMultiLine(lineNumber, name), lineNumber, true);
    }
    return new Pair(name, readSimple(raw), lineNumber, false);
  }

  private String readSimple(String firstLine) {
    StringBuilder value = new StringBuilder();
    boolean continued = appendLine(value, firstLine);
    while (continued && index < lines.length) {
      String next = lines[index++];
      if (next.equals("\\")) {
        value.append('\n'); // an escaped newline
        if (index >= lines.length) {
          break;
        }
        next = lines[index++];
      }
      continued = appendLine(value, next);
    }
    int end = value.length();
    while (end > 0 && isBlank(value.charAt(end - 1))) {
      end--;
    }
    return value.substring(0, end);
  }

  private String readMultiLine(int nameLine, String name) {
    StringBuilder value = new StringBuilder();
    boolean newlinePending = false;
    while (index < lines.length) {
      String line = lines[index++];
      if (line.equals("\\")) {
        return value.toString();
      }
      if (newlinePending) {
        value.append('\n');
      }
      newlinePending = !appendLine(value, line);
    }
    throw error(
        nameLine,
        name.isEmpty() ? null : name,
        "multi-line value is not terminated (a line holding just '\\' must end it)");
  }

  /**
   * Appends one physical line's content, handling a trailing run of k backslashes the way libbutl
   * does: k = 1 continues the value on the next line, k ≥ 2 keeps k - 1 of them.
   *
   * @return whether the value continues on the next line
   */
  private static boolean appendLine(StringBuilder value, String line) {
    int backslashes = 0;
    while (backslashes < line.length() && line.charAt(line.length() - 1 - backslashes) == '\\') {
      backslashes++;
    }
    if (backslashes == 0) {
      value.append(line);
      return false;
    }
    value.append(line, 0, line.length() - 1);
    return backslashes == 1;
  }

  private ManifestException error(int line, String field, String problem) {
    return new ManifestException(file, line, field, problem);
  }

  private static boolean isNameEnd(char c) {
    return c == ':' || isBlank(c);
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t';
  }

  private static String stripLeadingBlanks(String s) {
    int start = 0;
    while (start < s.length() && isBlank(s.charAt(start))) {
      start++;
    }
    return s.substring(start);
  }

  /** A line shortened and with control characters escaped, safe to put into a message. */
  static String printable(String s) {
    String shortened = s.length() > 60 ? s.substring(0, 57) + "..." : s;
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < shortened.length(); i++) {
      char c = shortened.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
