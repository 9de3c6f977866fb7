package dev.buildhost.it.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The task a sample worker runs: its {@code command:} lines, run in order. */
public record TaskManifest(List<String> commands) {

  public static final String FILE_NAME = "task.manifest";

  public TaskManifest {
    commands = List.copyOf(commands);
    for (String command : commands) {
      if (command.isBlank() || command.contains("\n") || command.endsWith("\\")) {
        throw new IllegalArgumentException("not a one-line command: '" + command + "'");
      }
    }
  }

  public static TaskManifest of(String... commands) {
    return new TaskManifest(List.of(commands));
  }

  public String text() {
    StringBuilder text = new StringBuilder(": 1\n");
    for (String command : commands) {
      text.append("command: ").append(command).append('\n');
    }
    return text.toString();
  }

  /** Writes {@value #FILE_NAME} into {@code dir} and returns its path. */
  public Path writeTo(Path dir) throws IOException {
    return Files.writeString(dir.resolve(FILE_NAME), text(), StandardCharsets.UTF_8);
  }
}
