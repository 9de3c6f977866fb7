package dev.buildhost.monitor.watch;

import dev.buildhost.common.text.Texts;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Decides whether an HTTP answer is a plausible OS build-id: a body served as text (a {@code
 * text/*} content type other than HTML or XML) that is one short line of printable UTF-8. Anything
 * else (a proxy's HTML error page answered with 200, a binary file, a listing of several lines) is
 * not a build-id: the check is "unknown" and never a reason to reboot.
 */
public final class BuildIdText {
  /** A build-id is a short line; Build OS's are a few dozen characters. */
  public static final int MAX_CHARS = 256;

  private BuildIdText() {}

  /**
   * @param body the answer's body
   * @param contentType its Content-Type header, or null
   * @return the build-id (surrounding blanks and the final newline removed)
   * @throws IllegalArgumentException saying why it is not a plausible build-id
   */
  public static String parse(byte[] body, String contentType) {
    String media =
        contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (media.isEmpty()) {
      throw new IllegalArgumentException(
          "was served without a Content-Type; serve it as text/plain");
    }
    if (!media.startsWith("text/") || media.equals("text/html") || media.equals("text/xml")) {
      throw new IllegalArgumentException(
          "was served as '"
              + Texts.shown(media)
              + "', not as plain text (a build-id is served as text/plain)");
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(body))
              .toString()
              .strip();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("is not text (not UTF-8)");
    }
    if (text.isEmpty()) {
      throw new IllegalArgumentException("is empty");
    }
    long lines = text.lines().count();
    if (lines > 1) {
      throw new IllegalArgumentException("has " + lines + " lines; a build-id is one line");
    }
    if (text.length() > MAX_CHARS) {
      throw new IllegalArgumentException(
          "is " + text.length() + " characters long; a build-id has at most " + MAX_CHARS);
    }
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      if (!printable(cp)) {
        throw new IllegalArgumentException(
            String.format("has an unprintable character U+%04X at position %d", cp, i + 1));
      }
      i += Character.charCount(cp);
    }
    if (text.startsWith("<")) {
      throw new IllegalArgumentException(
          "looks like markup ('" + Texts.shown(text) + "'), not a build-id");
    }
    return text;
  }

  private static boolean printable(int cp) {
    if (cp == ' ') {
      return true;
    }
    if (Character.isISOControl(cp) || Character.isWhitespace(cp)) {
      return false;
    }
    int type = Character.getType(cp);
    return type != Character.FORMAT
        && type != Character.UNASSIGNED
        && type != Character.PRIVATE_USE
        && type != Character.SURROGATE;
  }
}
