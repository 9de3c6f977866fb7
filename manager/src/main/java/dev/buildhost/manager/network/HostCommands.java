package dev.buildhost.manager.network;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the host's network tools (ip, bridge, nft, kill) and turns every failure into a {@link
 * NetworkException} that says what was being done, the command, and the tool's own words.
 */
public class HostCommands {
  private static final long TIMEOUT_SECONDS = 30;

  /** The tool's standard output; throws when it cannot run, times out or exits non-zero. */
  public String run(String what, List<String> command) throws NetworkException {
    return run(what, command, null);
  }

  /**
   * As {@link #run(String, List)}, with {@code input} fed to the tool's standard input (e.g. {@code
   * nft -f -}).
   */
  public String run(String what, List<String> command, String input) throws NetworkException {
    Result result = execute(what, command, input);
    if (result.exitCode() != 0) {
      throw new NetworkException(
          "cannot "
              + what
              + ": `"
              + String.join(" ", command)
              + "` exited with "
              + result.exitCode()
              + ": "
              + result.errors().strip());
    }
    return result.output();
  }

  /**
   * Runs and returns whatever happened, for callers to whom a non-zero exit is an answer (e.g.
   * "absent").
   */
  public Result execute(String what, List<String> command, String input) throws NetworkException {
    Process process;
    try {
      process = new ProcessBuilder(command).start();
    } catch (IOException e) {
      throw new NetworkException(
          "cannot "
              + what
              + ": cannot run "
              + command.get(0)
              + " (install iproute2, nftables and dnsmasq-base): "
              + e.getMessage(),
          e);
    }
    try {
      CompletableFuture<byte[]> errors =
          CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
      try (OutputStream stdin = process.getOutputStream()) {
        if (input != null) {
          stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
      }
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new NetworkException(
            "cannot "
                + what
                + ": "
                + command.get(0)
                + " did not finish in "
                + TIMEOUT_SECONDS
                + " s");
      }
      return new Result(
          process.exitValue(),
          new String(output, StandardCharsets.UTF_8),
          new String(errors.join(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      process.destroyForcibly();
      throw new NetworkException("cannot " + what + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new NetworkException("cannot " + what + ": interrupted", e);
    }
  }

  private static byte[] readAll(java.io.InputStream stream) {
    try {
      return stream.readAllBytes();
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** What a tool did: its exit code, standard output and standard error. */
  public record Result(int exitCode, String output, String errors) {}
}
