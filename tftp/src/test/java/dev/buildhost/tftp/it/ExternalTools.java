package dev.buildhost.tftp.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Finding and running the real programs interop tests need. */
final class ExternalTools {
  private ExternalTools() {}

  static boolean onCi() {
    return "true".equals(System.getenv("CI"));
  }

  /** Skips the test without the program, except under CI=true, where that is a failure. */
  static void require(String program) {
    if (!Files.isExecutable(Path.of(program))) {
      String message = program + " is not installed (scripts/host-setup installs it)";
      if (onCi()) {
        fail(message);
      }
      Assumptions.assumeTrue(false, message);
    }
  }

  record Outcome(int exitCode, String output) {}

  /** Runs a command in {@code dir}, bounded by a timeout; returns its exit code and output. */
  static Outcome run(Path dir, List<String> command) throws IOException, InterruptedException {
    Path log = Files.createTempFile("tftp-it", ".log");
    try {
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        fail("timed out: " + command);
      }
      return new Outcome(p.exitValue(), Files.readString(log, StandardCharsets.ISO_8859_1));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  static String sha256(Path file) throws IOException {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      try (var in = Files.newInputStream(file)) {
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
        }
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
