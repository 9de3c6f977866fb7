package dev.buildhost.common.config;

import dev.buildhost.common.text.Texts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The one config-file format of the daemon and the monitor: UTF-8 text, one {@code key = value} a
 * line, blanks around key and value ignored, {@code #} starts a comment line, blank lines skipped;
 * no quoting, escapes or continuation lines (a value runs to the end of its line).
 *
 * <p>Keys are written in one style, words joined by underscores ({@code state_dir}), as Build OS
 * writes its {@code buildos.*} parameters. The dashed spelling ({@code state-dir}), which the
 * daemon's files used before, is still read, with a warning naming the file, the line and the
 * spelling to write. Only the part of a key before its first {@code .} is respelled: what follows
 * ({@code toolchain_url.<name>}) is a name, not a key.
 *
 * <p>A line without {@code =}, a line with no key before it, a key given twice (in either
 * spelling), a file that is not UTF-8 or larger than {@link #MAX_BYTES} is an error naming the file
 * and line. Whether a key exists is the reader's business: each program knows its own.
 */
public final class ConfigFormat {

  /** Far more than any real config file; a larger one is a mistake (a log, an image). */
  public static final long MAX_BYTES = 1 << 20;

  private ConfigFormat() {}

  /** Reads and parses {@code file}; messages show its name as given. */
  public static ConfigText read(Path file) {
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new ConfigFileException(
            file + ": larger than " + MAX_BYTES + " bytes; this is not a config file");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigFileException("the config file " + file + " does not exist");
    } catch (IOException e) {
      throw new ConfigFileException("cannot read the config file " + file + ": " + e);
    }
    return parse(file.toString(), bytes);
  }

  /** Parses the content of a config file called {@code name}. */
  public static ConfigText parse(String name, byte[] bytes) {
    if (bytes.length > MAX_BYTES) {
      throw new ConfigFileException(
          name + ": larger than " + MAX_BYTES + " bytes; this is not a config file");
    }
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
      throw new ConfigFileException(name + ": not UTF-8 text");
    }
    List<ConfigEntry> entries = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      int lineNo = i + 1;
      String where = name + ":" + lineNo;
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq < 0) {
        throw new ConfigFileException(
            where + ": expected 'key = value', got '" + Texts.shown(line) + "'");
      }
      String written = line.substring(0, eq).strip();
      if (written.isEmpty()) {
        throw new ConfigFileException(
            where + ": expected 'key = value', the key is missing in '" + Texts.shown(line) + "'");
      }
      String key = canonicalKey(written);
      if (!key.equals(written)) {
        warnings.add(
            where
                + ": '"
                + Texts.shown(written)
                + "' is the old spelling; write '"
                + Texts.shown(key)
                + "'");
      }
      Integer before = seen.putIfAbsent(key, lineNo);
      if (before != null) {
        throw new ConfigFileException(
            where
                + ": '"
                + Texts.shown(key)
                + "' is set a second time (first on line "
                + before
                + ")");
      }
      entries.add(new ConfigEntry(key, line.substring(eq + 1).strip(), lineNo, where));
    }
    return new ConfigText(name, entries, warnings);
  }

  /** {@code key} in the one key style: dashes before the first {@code .} become underscores. */
  public static String canonicalKey(String key) {
    int dot = key.indexOf('.');
    String base = dot < 0 ? key : key.substring(0, dot);
    return base.replace('-', '_') + (dot < 0 ? "" : key.substring(dot));
  }

  /**
   * The flag of a key: {@code --} and the key with dashes ({@code state_dir} is {@code
   * --state-dir}).
   */
  public static String flagOf(String key) {
    return "--" + key.replace('_', '-');
  }
}
