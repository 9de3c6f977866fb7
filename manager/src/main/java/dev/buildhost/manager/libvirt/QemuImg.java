package dev.buildhost.manager.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.machine.DiskChain;
import dev.buildhost.manager.machine.DiskFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Copy-on-write overlays through {@code qemu-img}: the overlay is a small qcow2 file whose backing
 * file is the revision's disk, so creating it costs the same whatever the disk's size, and the
 * guest's writes never reach the base.
 *
 * <p>The base's format comes from its name ({@link DiskFormat}) and is written into the overlay
 * ({@code -F}), so neither qemu nor libvirt ever guesses it: a raw disk that holds a qcow2 header
 * stays raw. The base's backing chain is checked again right before ({@link DiskChain}: the file
 * may have changed since its manifest was read), and the overlay's chain as qemu-img reads it is
 * checked after: every file in it must be the overlay or lie in the base's folder.
 */
public final class QemuImg {
  private static final long TIMEOUT_SECONDS = 60;

  /** A flatten copies the whole disk: minutes for a large one on a slow disk. */
  private static final long CONVERT_TIMEOUT_SECONDS = 3600;

  private static final ObjectMapper JSON = new ObjectMapper();

  private QemuImg() {}

  /**
   * Creates {@code overlay} backed by {@code base}; on failure nothing is left behind. Returns the
   * overlay's backing chain as qemu-img reads it, nearest first (the base, then the files it chains
   * to).
   */
  public static List<DomainXml.BackingFile> createOverlay(Path base, Path overlay)
      throws BackendException {
    if (!Files.isRegularFile(base)) {
      throw new BackendException("the machine's disk " + base + " does not exist or is not a file");
    }
    DiskFormat format = formatOf(base);
    Path folder = base.toAbsolutePath().getParent();
    String problem = DiskChain.problem(folder, base.getFileName().toString());
    if (problem != null) {
      throw new BackendException("the machine's disk " + base + " cannot be used: " + problem);
    }
    try {
      createQcow2Over(base, format.qemuName(), overlay, "over " + base);
      JsonNode chain = chainOf(overlay);
      checkBase(chain, 1, overlay, base.toAbsolutePath(), format);
      return backingFiles(chain);
    } catch (BackendException e) {
      deleteQuietly(overlay);
      throw e;
    }
  }

  /** A qcow2 {@code overlay} whose backing file is {@code backing}: O(1) in the backing's size. */
  private static void createQcow2Over(
      Path backing, String backingFormat, Path overlay, String describedBacking)
      throws BackendException {
    run(
        List.of(
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            backingFormat,
            "-b",
            backing.toAbsolutePath().toString(),
            overlay.toString()),
        "create the overlay " + overlay + " " + describedBacking);
  }

  /**
   * Creates {@code overlay} over a bootstrapped {@code layer} (a qcow2 file whose backing file is
   * {@code base}, the revision's disk): O(1) like {@link #createOverlay}. The chain qemu-img reads
   * must be overlay, layer, base, then only files in the base's folder. Returns that chain below
   * the overlay.
   */
  public static List<DomainXml.BackingFile> createOverlayOnLayer(
      Path layer, Path base, Path overlay) throws BackendException {
    if (!Files.isRegularFile(layer)) {
      throw new BackendException(
          "the bootstrapped layer " + layer + " does not exist or is not a file");
    }
    DiskFormat format = formatOf(base);
    try {
      createQcow2Over(layer, "qcow2", overlay, "over the layer " + layer);
      JsonNode chain = chainOf(overlay);
      if (chain.size() < 3
          || !layer.toAbsolutePath().toString().equals(chain.get(1).path("filename").asText())
          || !"qcow2".equals(chain.get(1).path("format").asText())) {
        throw new BackendException(
            "the overlay " + overlay + " does not chain to the layer " + layer + ": " + chain);
      }
      checkBase(chain, 2, overlay, base.toAbsolutePath(), format);
      return backingFiles(chain);
    } catch (BackendException e) {
      deleteQuietly(overlay);
      throw e;
    }
  }

  /**
   * Writes {@code overlay} and its whole backing chain into {@code target}, a qcow2 disk without a
   * backing file ({@code qemu-img convert}); on failure nothing is left behind.
   */
  public static void flatten(Path overlay, Path target) throws BackendException {
    try {
      run(
          List.of(
              "qemu-img",
              "convert",
              "-q",
              "-f",
              "qcow2",
              "-O",
              "qcow2",
              overlay.toString(),
              target.toString()),
          "flatten " + overlay + " into " + target,
          CONVERT_TIMEOUT_SECONDS);
      JsonNode chain = chainOf(target);
      if (chain.size() != 1) {
        throw new BackendException("the flattened disk " + target + " still has a backing file");
      }
    } catch (BackendException e) {
      deleteQuietly(target);
      throw e;
    }
  }

  /** The base disk's format, as its name declares it (never guessed from the content). */
  static DiskFormat formatOf(Path disk) throws BackendException {
    return DiskFormat.ofFileName(disk.getFileName().toString())
        .orElseThrow(
            () ->
                new BackendException(
                    "the machine's disk "
                        + disk
                        + " does not tell its format: "
                        + DiskFormat.RULE));
  }

  /** The files of a checked chain below its first element (the overlay), nearest first. */
  private static List<DomainXml.BackingFile> backingFiles(JsonNode chain) {
    List<DomainXml.BackingFile> files = new ArrayList<>();
    for (int i = 1; i < chain.size(); i++) {
      JsonNode file = chain.get(i);
      files.add(
          new DomainXml.BackingFile(
              Path.of(file.path("filename").asText()).toAbsolutePath().normalize(),
              file.path("format").asText()));
    }
    return files;
  }

  private static JsonNode chainOf(Path overlay) throws BackendException {
    String json =
        run(
            List.of(
                "qemu-img",
                "info",
                "--output=json",
                "--backing-chain",
                "-f",
                "qcow2",
                overlay.toString()),
            "read the backing chain of " + overlay);
    JsonNode chain;
    try {
      chain = JSON.readTree(json);
    } catch (IOException e) {
      throw new BackendException(
          "cannot read the backing chain of " + overlay + ": qemu-img said " + json, e);
    }
    if (chain == null || !chain.isArray()) {
      throw new BackendException(
          "cannot read the backing chain of " + overlay + ": qemu-img said " + json);
    }
    return chain;
  }

  /** Element {@code at} of the chain is {@code base} in its format; the rest lies beside it. */
  private static void checkBase(
      JsonNode chain, int at, Path overlay, Path base, DiskFormat baseFormat)
      throws BackendException {
    if (chain.size() <= at) {
      throw new BackendException(
          "the overlay " + overlay + " does not chain to " + base + ": qemu-img said " + chain);
    }
    JsonNode second = chain.get(at);
    if (!base.toString().equals(second.path("filename").asText())
        || !baseFormat.qemuName().equals(second.path("format").asText())) {
      throw new BackendException(
          "the overlay "
              + overlay
              + " chains to "
              + second.path("filename").asText()
              + " ("
              + second.path("format").asText()
              + "), not to "
              + base
              + " ("
              + baseFormat.qemuName()
              + ")");
    }
    Path folder = base.getParent();
    for (int i = at + 1; i < chain.size(); i++) {
      String filename = chain.get(i).path("filename").asText();
      if (!folder.equals(Path.of(filename).toAbsolutePath().normalize().getParent())) {
        throw new BackendException(
            "the machine's disk " + base + " chains to " + filename + ", outside " + folder);
      }
    }
  }

  static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // best effort: reconciliation removes overlays that outlive their instance
    }
  }

  private static String run(List<String> command, String what) throws BackendException {
    return run(command, what, TIMEOUT_SECONDS);
  }

  private static String run(List<String> command, String what, long timeoutSeconds)
      throws BackendException {
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new BackendException(
          "cannot " + what + ": cannot run qemu-img (install qemu-utils): " + e.getMessage(), e);
    }
    try {
      process.getOutputStream().close();
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new BackendException(
            "cannot " + what + ": qemu-img did not finish in " + timeoutSeconds + " s");
      }
      String text = new String(output, StandardCharsets.UTF_8).trim();
      if (process.exitValue() != 0) {
        throw new BackendException(
            "cannot " + what + ": qemu-img exited with " + process.exitValue() + ": " + text);
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
