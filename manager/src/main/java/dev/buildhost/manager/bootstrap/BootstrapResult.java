package dev.buildhost.manager.bootstrap;

import dev.buildhost.manager.instance.EndHook;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a bootstrap succeeded: it ended on its own (POWEROFF), a container with exit code 0, and
 * the worker's {@code result.manifest} (required of a VM, optional for a container) says {@code
 * status: success}.
 */
final class BootstrapResult {
  static final String RESULT_FILE = "result.manifest";
  private static final long MAX_RESULT = 64L << 20;

  private BootstrapResult() {}

  /** Null when it succeeded, else why not. */
  static String failure(EndHook.GuestEnd end, MachineType type) {
    if (end.reason() != EndReason.POWEROFF) {
      return "it ended " + end.reason();
    }
    if (type == MachineType.DOCKER && (end.exitCode() == null || end.exitCode() != 0)) {
      return "the container exited with code " + end.exitCode();
    }
    Path result = end.tftpDir().resolve(RESULT_FILE);
    if (!Files.isRegularFile(result)) {
      return type == MachineType.DOCKER ? null : "the worker uploaded no " + RESULT_FILE;
    }
    String status;
    try {
      status = status(result);
    } catch (IOException e) {
      return "cannot read " + RESULT_FILE + ": " + e.getMessage();
    }
    if (status == null) {
      return RESULT_FILE + " has no status line";
    }
    return status.equals("success") ? null : RESULT_FILE + " says status: " + status;
  }

  /** The value of the manifest's first {@code status:} line, or null. */
  static String status(Path manifest) throws IOException {
    if (Files.size(manifest) > MAX_RESULT) {
      throw new IOException(manifest + " is larger than " + MAX_RESULT + " bytes");
    }
    for (String line : Files.readAllLines(manifest, StandardCharsets.UTF_8)) {
      String trimmed = line.strip();
      if (trimmed.startsWith("status:")) {
        return trimmed.substring("status:".length()).strip();
      }
    }
    return null;
  }
}
