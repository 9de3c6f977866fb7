package dev.buildhost.monitor.config;

import dev.buildhost.common.text.Texts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code buildos.*} parameters of a kernel command line (normally /proc/cmdline), as Build OS
 * reads its configuration. Parameters are separated by blanks; a value may be double-quoted ({@code
 * buildos.install_command="sh install.sh"}); everything after a lone {@code --} belongs to init and
 * is ignored. Other {@code buildos.*} parameters (Build OS has more) are skipped with a warning,
 * never an error: the host must still boot.
 */
public final class KernelCmdline {
  public static final String PREFIX = "buildos.";

  private KernelCmdline() {}

  public static ConfigSource read(Path file) throws ConfigException {
    String text;
    try {
      if (Files.size(file) > ConfigFile.MAX_BYTES) {
        throw new ConfigException(
            file + ": larger than " + ConfigFile.MAX_BYTES + " bytes; not a kernel command line");
      }
      text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new ConfigSource(
          file.toString(), List.of(), List.of(file + " does not exist; no kernel parameters read"));
    } catch (IOException e) {
      throw new ConfigException("cannot read kernel command line " + file + ": " + e);
    }
    return parse(file.toString(), text);
  }

  public static ConfigSource parse(String name, String text) {
    List<RawValue> values = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    for (String token : tokens(text)) {
      if (token.equals("--")) {
        break;
      }
      if (!token.startsWith(PREFIX)) {
        continue;
      }
      int eq = token.indexOf('=');
      String key = (eq < 0 ? token : token.substring(0, eq)).substring(PREFIX.length());
      if (eq < 0) {
        warnings.add(name + ": " + Texts.shown(token) + " has no value; ignored");
        continue;
      }
      RawValue raw = ConfigSource.keyed(key, token.substring(eq + 1), name + ": " + PREFIX + key);
      if (raw == null) {
        warnings.add(
            name + ": " + Texts.shown(PREFIX + key) + " is not a monitor setting; ignored");
        continue;
      }
      values.add(raw);
    }
    return new ConfigSource(name, values, warnings);
  }

  /** Splits at blanks outside double quotes and drops the quotes, as the kernel does. */
  static List<String> tokens(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean inQuotes = false;
    boolean any = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"') {
        inQuotes = !inQuotes;
        any = true;
      } else if (!inQuotes && Character.isWhitespace(c)) {
        if (any) {
          out.add(cur.toString());
          cur.setLength(0);
          any = false;
        }
      } else {
        cur.append(c);
        any = true;
      }
    }
    if (any) {
      out.add(cur.toString());
    }
    return out;
  }
}
