package dev.buildhost.monitor.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The monitor's config file: one {@code key = value} a line (Java-properties style without
 * escapes or continuation lines), {@code #} starts a comment line, blank lines are skipped.
 * Keys are the setting names of {@link Setting}; an unknown key, a line without {@code =} or a
 * key given twice is an error naming the file and line.
 */
public final class ConfigFile {
  static final long MAX_BYTES = 1 << 20;

  private ConfigFile() {}

  public static ConfigSource read(Path file) throws ConfigException {
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new ConfigException(file + ": larger than " + MAX_BYTES + " bytes; this is not a config file");
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e);
    }
    return parse(file.toString(), bytes);
  }

  public static ConfigSource parse(String name, byte[] bytes) throws ConfigException {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ConfigException(name + ": not UTF-8 text");
    }
    List<RawValue> values = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      int lineNo = i + 1;
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(name + " line " + lineNo + ": expected 'key = value', got '" + Texts.shown(line) + "'");
      }
      String key = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      RawValue raw = ConfigSource.keyed(key, value, name + " line " + lineNo + ": " + key);
      if (raw == null) {
        throw new ConfigException(name + " line " + lineNo + ": unknown setting '" + Texts.shown(key)
            + "'; the settings are listed by 'buildhost monitor --help' and in doc/monitor.md");
      }
      Integer before = seen.putIfAbsent(key, lineNo);
      if (before != null) {
        throw new ConfigException(name + " line " + lineNo + ": '" + key + "' was already set on line " + before);
      }
      values.add(raw);
    }
    return new ConfigSource(name, values, List.of());
  }
}
