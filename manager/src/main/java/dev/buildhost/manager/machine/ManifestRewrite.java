package dev.buildhost.manager.machine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A copy of a manifest with new values for some single-line fields (a published revision's {@code
 * name}, {@code disk} or {@code image}), everything else (comments, order, multi-line values) kept
 * as the author wrote it.
 */
public final class ManifestRewrite {

  private ManifestRewrite() {}

  /**
   * {@code text} with each field of {@code values} set: its line replaced when the manifest has the
   * field, the field appended when it has not.
   *
   * @throws ManifestException when the text is not a manifest, or a field to replace spans lines
   */
  public static String withValues(Path file, String text, Map<String, String> values) {
    List<String> lines = new ArrayList<>(List.of(text.replace("\r\n", "\n").split("\n", -1)));
    Map<String, String> missing = new LinkedHashMap<>(values);
    for (ManifestLexer.Pair pair : ManifestLexer.pairs(file, text)) {
      String value = missing.remove(pair.name());
      if (value == null) {
        continue;
      }
      String line = lines.get(pair.line() - 1);
      if (pair.multiLine() || line.stripTrailing().endsWith("\\")) {
        throw new ManifestException(
            file,
            pair.line(),
            pair.name(),
            "spans lines; write it on one line to publish a new revision");
      }
      lines.set(pair.line() - 1, pair.name() + ": " + value);
    }
    if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    missing.forEach((name, value) -> lines.add(name + ": " + value));
    return String.join("\n", lines) + "\n";
  }
}
