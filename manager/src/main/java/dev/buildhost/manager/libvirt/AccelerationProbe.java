package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.config.Acceleration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether VMs run with KVM or with QEMU's TCG emulation. With {@code accel=auto} it does
 * not trust the mere presence of /dev/kvm: it boots a one-sector guest under KVM that counts to
 * about 67 million and then prints a marker on its serial port, and uses KVM only if the marker
 * appears within {@link #BUDGET_MILLIS} (a working KVM needs a few milliseconds; a broken one, as
 * on nested hosts without the needed CPU features, makes no progress). The probe runs once per
 * process; the choice and its reason are logged.
 */
public final class AccelerationProbe {
  private static final Logger LOG = LoggerFactory.getLogger(AccelerationProbe.class);
  static final long BUDGET_MILLIS = 5000;
  private static final String MARKER = "BUILDHOST-ACCEL-OK";
  private static Choice probed;

  /** The domain type to use and why. */
  public record Choice(String domainType, String reason) {
    public boolean kvm() {
      return "kvm".equals(domainType);
    }
  }

  private AccelerationProbe() {}

  public static Choice choose(Acceleration setting) {
    switch (setting) {
      case KVM:
        return logged(new Choice("kvm", "accel=kvm is configured (no probe)"));
      case TCG:
        return logged(new Choice("qemu", "accel=tcg is configured"));
      default:
        return probeOnce();
    }
  }

  private static synchronized Choice probeOnce() {
    if (probed == null) {
      probed = logged(probe());
    }
    return probed;
  }

  private static Choice logged(Choice choice) {
    LOG.info(
        "VM acceleration: {} ({})",
        choice.kvm() ? "KVM" : "TCG (software emulation)",
        choice.reason());
    return choice;
  }

  static Choice probe() {
    if (!Files.exists(Path.of("/dev/kvm"))) {
      return new Choice("qemu", "accel=auto and /dev/kvm does not exist");
    }
    Path image = null;
    Process process = null;
    long started = System.nanoTime();
    try {
      image = Files.createTempFile("buildhost-kvm-probe", ".img");
      Files.write(image, bootSector());
      process =
          new ProcessBuilder(
                  List.of(
                      "qemu-system-x86_64",
                      "-accel",
                      "kvm",
                      "-machine",
                      "pc",
                      "-m",
                      "16",
                      "-nodefaults",
                      "-display",
                      "none",
                      "-serial",
                      "stdio",
                      "-no-reboot",
                      "-drive",
                      "file=" + image + ",format=raw,if=ide"))
              .redirectErrorStream(true)
              .start();
      String output = readUntilMarker(process, started);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      if (output.contains(MARKER)) {
        return new Choice(
            "kvm", "accel=auto and a KVM probe guest ran its 67M-step loop in " + millis + " ms");
      }
      String said = output.replaceAll("\\s+", " ").trim();
      return new Choice(
          "qemu",
          "accel=auto but /dev/kvm does not work: a KVM probe guest made no progress in "
              + millis
              + " ms"
              + (said.isEmpty() ? "" : "; QEMU said: " + abbreviate(said)));
    } catch (IOException e) {
      return new Choice("qemu", "accel=auto but the KVM probe could not run: " + e.getMessage());
    } finally {
      if (process != null) {
        process.destroyForcibly();
      }
      if (image != null) {
        try {
          Files.deleteIfExists(image);
        } catch (IOException ignored) {
          // a leftover temporary file of 512 bytes is harmless
        }
      }
    }
  }

  private static String readUntilMarker(Process process, long started) throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    InputStream in = process.getInputStream();
    long deadline = started + TimeUnit.MILLISECONDS.toNanos(BUDGET_MILLIS);
    byte[] buffer = new byte[4096];
    while (System.nanoTime() < deadline && seen.size() < 65536) {
      if (in.available() > 0) {
        int n = in.read(buffer);
        if (n < 0) {
          break;
        }
        seen.write(buffer, 0, n);
        if (seen.toString(StandardCharsets.ISO_8859_1).contains(MARKER)) {
          break;
        }
      } else if (!process.isAlive()) {
        seen.write(in.readAllBytes());
        break;
      } else {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    return seen.toString(StandardCharsets.ISO_8859_1);
  }

  /**
   * A 512-byte boot sector in 16-bit real mode: counts 1024 x 65535 steps, writes the marker to the
   * first serial port (0x3f8), then halts.
   */
  static byte[] bootSector() {
    byte[] code = {
      (byte) 0xFC, // cld
      0x31,
      (byte) 0xC0, // xor ax, ax
      (byte) 0x8E,
      (byte) 0xD8, // mov ds, ax
      (byte) 0xB9,
      0x00,
      0x04, // mov cx, 0x0400
      (byte) 0xBB,
      (byte) 0xFF,
      (byte) 0xFF, // outer: mov bx, 0xffff
      0x4B, // inner: dec bx
      0x75,
      (byte) 0xFD, // jnz inner
      (byte) 0xE2,
      (byte) 0xF8, // loop outer
      (byte) 0xBE,
      0x00,
      0x00, // mov si, message (patched below)
      (byte) 0xBA,
      (byte) 0xF8,
      0x03, // mov dx, 0x3f8
      (byte) 0xAC, // print: lodsb
      0x08,
      (byte) 0xC0, // or al, al
      0x74,
      0x03, // jz halt
      (byte) 0xEE, // out dx, al
      (byte) 0xEB,
      (byte) 0xF8, // jmp print
      (byte) 0xFA, // halt: cli
      (byte) 0xF4, // hlt
      (byte) 0xEB,
      (byte) 0xFC, // jmp halt
    };
    byte[] sector = new byte[512];
    System.arraycopy(code, 0, sector, 0, code.length);
    int message = 0x7C00 + code.length;
    sector[17] = (byte) (message & 0xff);
    sector[18] = (byte) (message >> 8);
    byte[] text = (MARKER + "\r\n").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(text, 0, sector, code.length, text.length);
    sector[510] = 0x55;
    sector[511] = (byte) 0xAA;
    return sector;
  }

  private static String abbreviate(String text) {
    return text.length() > 300 ? text.substring(0, 300) + "..." : text;
  }
}
