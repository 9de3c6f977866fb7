package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Copy-on-write overlays through {@code qemu-img}: the overlay is a small qcow2 file whose
 * backing file is the revision's disk, so creating it costs the same whatever the disk's size,
 * and the guest's writes never reach the base.
 */
public final class QemuImg {
  private static final long TIMEOUT_SECONDS = 60;
  private static final Pattern FORMAT = Pattern.compile("\"format\"\\s*:\\s*\"([a-z0-9]+)\"");

  private QemuImg() {
  }

  /** Creates {@code overlay} backed by {@code base}; on failure nothing is left behind. */
  public static void createOverlay(Path base, Path overlay) throws BackendException {
    if (!Files.isRegularFile(base)) {
      throw new BackendException("the machine's disk " + base + " does not exist or is not a file");
    }
    String format = formatOf(base);
    try {
      run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", format, "-b", base.toAbsolutePath().toString(),
          overlay.toString()), "create the overlay " + overlay + " over " + base);
    } catch (BackendException e) {
      deleteQuietly(overlay);
      throw e;
    }
  }

  /** The base disk's format: by its name when it tells, else as qemu-img reads it. */
  static String formatOf(Path disk) throws BackendException {
    String name = disk.getFileName().toString();
    if (name.endsWith(".qcow2")) {
      return "qcow2";
    }
    if (name.endsWith(".img") || name.endsWith(".raw")) {
      return "raw";
    }
    String json = run(List.of("qemu-img", "info", "--output=json", disk.toString()), "read the format of " + disk);
    Matcher matcher = FORMAT.matcher(json);
    if (!matcher.find()) {
      throw new BackendException("qemu-img cannot tell the format of " + disk);
    }
    return matcher.group(1);
  }

  static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // best effort: reconciliation removes overlays that outlive their instance
    }
  }

  private static String run(List<String> command, String what) throws BackendException {
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new BackendException("cannot " + what + ": cannot run qemu-img (install qemu-utils): " + e.getMessage(), e);
    }
    try {
      process.getOutputStream().close();
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new BackendException("cannot " + what + ": qemu-img did not finish in " + TIMEOUT_SECONDS + " s");
      }
      String text = new String(output, StandardCharsets.UTF_8).trim();
      if (process.exitValue() != 0) {
        throw new BackendException("cannot " + what + ": qemu-img exited with " + process.exitValue() + ": " + text);
      }
      return text;
    } catch (IOException e) {
      throw new BackendException("cannot " + what + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new BackendException("cannot " + what + ": interrupted", e);
    }
  }
}
