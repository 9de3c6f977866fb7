package dev.buildhost.manager.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The OS's build id: {@code BUILD_ID} of /etc/os-release, as Build OS writes it. */
final class OsRelease {

  private static final Path FILE = Path.of("/etc/os-release");

  private OsRelease() {}

  /** The build id, or null when the OS names none. */
  static String buildId() {
    try {
      for (String line : Files.readAllLines(FILE)) {
        if (line.startsWith("BUILD_ID=")) {
          String value = line.substring("BUILD_ID=".length()).strip();
          if (value.length() >= 2 && (value.startsWith("\"") || value.startsWith("'"))) {
            value = value.substring(1, value.length() - 1);
          }
          return value.isEmpty() ? null : value;
        }
      }
    } catch (IOException e) {
      // no os-release: no build id to show
    }
    return null;
  }
}
