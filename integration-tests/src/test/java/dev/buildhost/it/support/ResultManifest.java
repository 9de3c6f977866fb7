package dev.buildhost.it.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The {@code result.manifest} a sample worker uploads (see scripts/samples/worker.sh): a build2
 * manifest with {@code status}, {@code exit-code} and the multi-line {@code log}.
 */
public record ResultManifest(String status, int exitCode, String log) {

  public static final String FILE_NAME = "result.manifest";

  public static ResultManifest read(Path file) throws IOException {
    return parse(Files.readString(file, StandardCharsets.UTF_8));
  }

  /**
   * Waits (bounded) for {@value #FILE_NAME} to appear in {@code dir}, the TFTP folder the worker
   * uploads into, and reads it; empty if it did not appear in time.
   */
  public static Optional<ResultManifest> awaitIn(Path dir, Duration timeout) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    try {
      await(FILE_NAME + " in " + dir)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> Files.isRegularFile(file));
    } catch (ConditionTimeoutException e) {
      return Optional.empty();
    }
    return Optional.of(read(file));
  }

  /** The log's lines. */
  public List<String> logLines() {
    return log.lines().toList();
  }

  /**
   * Parses the subset of the build2 manifest format the worker writes: the {@code : 1} version
   * line, {@code name: value} lines, and multi-line values ({@code name:\} up to a line holding
   * just {@code \}, where a line ending in k >= 2 backslashes keeps k - 1 of them).
   */
  public static ResultManifest parse(String text) {
    List<String> lines = text.lines().toList();
    if (lines.isEmpty() || !lines.get(0).strip().equals(": 1")) {
      throw new IllegalArgumentException("result manifest: line 1 must be ': 1'; text:\n" + text);
    }
    Map<String, String> fields = new LinkedHashMap<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(
            "result manifest line " + (i + 1) + ": not 'name: value': " + line);
      }
      String name = line.substring(0, colon).strip();
      String value = line.substring(colon + 1).strip();
      if (value.equals("\\")) {
        StringBuilder multi = new StringBuilder();
        int start = i + 1;
        for (i = start; i < lines.size() && !lines.get(i).equals("\\"); i++) {
          String content = lines.get(i);
          if (content.endsWith("\\")) {
            if (content.endsWith("\\\\")) {
              content = content.substring(0, content.length() - 1);
            } else {
              throw new IllegalArgumentException(
                  "result manifest line "
                      + (i + 1)
                      + ": a single trailing backslash (the worker escapes it as two)");
            }
          }
          multi.append(i > start ? "\n" : "").append(content);
        }
        if (i == lines.size()) {
          throw new IllegalArgumentException(
              "result manifest: value of " + name + " is not terminated");
        }
        value = multi.toString();
      }
      if (fields.put(name, value) != null) {
        throw new IllegalArgumentException("result manifest: field " + name + " repeated");
      }
    }
    String status = require(fields, "status");
    String exitCode = require(fields, "exit-code");
    try {
      return new ResultManifest(status, Integer.parseInt(exitCode), require(fields, "log"));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("result manifest: exit-code is not a number: " + exitCode);
    }
  }

  private static String require(Map<String, String> fields, String name) {
    String value = fields.get(name);
    if (value == null) {
      throw new IllegalArgumentException(
          "result manifest: no " + name + " field in " + fields.keySet());
    }
    return value;
  }
}
