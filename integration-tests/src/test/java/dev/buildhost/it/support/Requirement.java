package dev.buildhost.it.support;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * What to do when something a test needs (a daemon, a tool, the sample machines) is missing: under
 * CI ({@code CI=true}) the test fails, because CI sets everything up and a missing part is a broken
 * build; elsewhere the test is skipped with the reason.
 */
public final class Requirement {

  private Requirement() {}

  public static boolean inCi() {
    return "true".equals(System.getenv("CI"));
  }

  /** Never returns: fails the test under CI, aborts (skips) it elsewhere. */
  @SuppressWarnings(
      "TypeParameterUnusedInFormals") // T lets callers write `return unmet(...)` in any method
  public static <T> T unmet(String reason) {
    if (inCi()) {
      return fail(reason + " (CI=true: this is a failure, not a skip; scripts/test sets it up)");
    }
    Assumptions.abort(reason + " (run scripts/host-setup and scripts/build-samples build/samples)");
    throw new AssertionError("unreachable");
  }

  /** The command's path on PATH, or {@link #unmet} naming it. */
  public static Path command(String name) {
    String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return unmet("command " + name + " is not installed");
  }
}
