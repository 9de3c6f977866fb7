package dev.buildhost.manager.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Versions of the parts the daemon drives, asked once at startup from their own commands. */
final class HostVersions {

  private static final long TIMEOUT_SECONDS = 5;

  private HostVersions() {}

  static Map<String, String> probe(String buildhostVersion) {
    Map<String, String> versions = new LinkedHashMap<>();
    versions.put("buildhost", buildhostVersion);
    versions.put(
        "java",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    versions.put("kernel", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    versions.put("libvirt", firstLine(List.of("libvirtd", "--version")));
    versions.put("qemu", firstLine(List.of("qemu-system-x86_64", "--version")));
    versions.put(
        "docker", firstLine(List.of("docker", "version", "--format", "{{.Server.Version}}")));
    return Collections.unmodifiableMap(versions);
  }

  /** The command's first output line, or why there is none. */
  private static String firstLine(List<String> command) {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.PIPE)
              .start();
      process.getOutputStream().close();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return "unknown (" + command.get(0) + " did not answer within " + TIMEOUT_SECONDS + " s)";
      }
      String out =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      String line = out.lines().findFirst().orElse("");
      return process.exitValue() == 0 ? line : "unknown (" + command.get(0) + ": " + line + ")";
    } catch (IOException e) {
      return "unknown (" + command.get(0) + " is not installed)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown (interrupted)";
    }
  }
}
