package dev.buildhost.monitor.bootstrap;

import dev.buildhost.common.text.Texts;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A toolchain checksum file in {@code sha256sum} format: one {@code <sha256> <file>} line per file
 * ({@code <sha256> *<file>} for binary mode is accepted too). Blank lines are skipped. File names
 * are relative paths of plain segments (letters, digits, {@code . _ + - ~}); a name that climbs out
 * ({@code ..}), is absolute, is escaped ({@code \}) or repeats is an error, and so is any malformed
 * line: the message names the line number.
 */
public record ChecksumFile(String name, List<Entry> entries) {
  private static final Pattern LINE = Pattern.compile("([0-9A-Fa-f]{64}) [ *](.+)");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*");

  /** One listed file: its relative path and expected SHA-256 (lower case hex). */
  public record Entry(String file, String sha256) {}

  public ChecksumFile {
    entries = List.copyOf(entries);
  }

  /**
   * @param name how to call the file in messages (its URL or file name)
   * @throws ChecksumFormatException naming the line that is wrong
   */
  public static ChecksumFile parse(String name, byte[] bytes) throws ChecksumFormatException {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new ChecksumFormatException(name + ": not a text file (not UTF-8)");
    }
    List<Entry> entries = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      int lineNo = i + 1;
      String line =
          lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
      if (line.isBlank()) {
        continue;
      }
      Matcher m = LINE.matcher(line);
      if (!m.matches()) {
        throw new ChecksumFormatException(
            name
                + " line "
                + lineNo
                + ": expected '<64 hex digits>  <file name>' (sha256sum format), got '"
                + Texts.shown(line)
                + "'");
      }
      String file = m.group(2);
      String why = badName(file);
      if (why != null) {
        throw new ChecksumFormatException(
            name + " line " + lineNo + ": file name '" + Texts.shown(file) + "' " + why);
      }
      Integer before = seen.putIfAbsent(file, lineNo);
      if (before != null) {
        throw new ChecksumFormatException(
            name + " line " + lineNo + ": '" + file + "' is already listed on line " + before);
      }
      entries.add(new Entry(file, m.group(1).toLowerCase(Locale.ROOT)));
    }
    if (entries.isEmpty()) {
      throw new ChecksumFormatException(name + ": lists no files");
    }
    return new ChecksumFile(name, entries);
  }

  private static String badName(String file) {
    if (file.length() > 255) {
      return "is longer than 255 characters";
    }
    if (file.startsWith("/")) {
      return "is absolute; names must be relative to the checksum file";
    }
    if (file.startsWith("\\") || file.contains("\\")) {
      return "contains a backslash (escaped names are not supported)";
    }
    for (String seg : file.split("/", -1)) {
      if (seg.equals("..") || seg.equals(".")) {
        return "contains '" + seg + "'; names must stay below the checksum file's folder";
      }
      if (!SEGMENT.matcher(seg).matches()) {
        return "has an unusable part '"
            + Texts.shown(seg)
            + "' (allowed: letters, digits, '.', '_', '+', '~', '-', not empty, not starting with '.')";
      }
    }
    return null;
  }
}
