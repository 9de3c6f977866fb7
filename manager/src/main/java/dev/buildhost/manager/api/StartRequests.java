package dev.buildhost.manager.api;

import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.StartRequest;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The manager's start request from the API's {@link StartBody}: the fields checked, the files
 * decoded.
 */
final class StartRequests {

  private StartRequests() {}

  /** A 400 names the field that is wrong. */
  static StartRequest from(StartBody body) {
    String machine = body.machine();
    Long timeoutSeconds = body.timeoutSeconds();
    if (machine == null || machine.isBlank()) {
      throw new ApiException(
          400, "the field 'machine' is missing", "name a machine: {\"machine\": \"sample-vm\"}");
    }
    if (timeoutSeconds != null && timeoutSeconds <= 0) {
      throw new ApiException(
          400,
          "timeoutSeconds must be positive, not " + timeoutSeconds,
          "give the instance's time limit in seconds, or leave it out for the daemon's default");
    }
    BootstrappedMode mode = BootstrappedMode.AUTO;
    if (body.bootstrapped() != null) {
      mode = BootstrappedMode.ofWord(body.bootstrapped());
      if (mode == null) {
        throw new ApiException(
            400,
            "bootstrapped must be auto, required or never, not '"
                + printable(body.bootstrapped())
                + "'",
            "leave it out to start from the bootstrapped state when there is one");
      }
    }
    checkToolchain(body.toolchain());
    return new StartRequest(
        machine,
        timeoutSeconds == null ? null : Duration.ofSeconds(timeoutSeconds),
        decode(body.files()),
        mode,
        body.toolchain(),
        Boolean.TRUE.equals(body.keep()));
  }

  /** The start of a bootstrap instance of {@code machine}; a 400 names the field that is wrong. */
  static StartRequest bootstrap(String machine, BootstrapBody body) {
    if (body == null) {
      body = new BootstrapBody(null, null, null);
    }
    if (body.timeoutSeconds() != null && body.timeoutSeconds() <= 0) {
      throw new ApiException(
          400,
          "timeoutSeconds must be positive, not " + body.timeoutSeconds(),
          "give the bootstrap's time limit in seconds, or leave it out for the daemon's default");
    }
    checkToolchain(body.toolchain());
    return new StartRequest(
        machine,
        body.timeoutSeconds() == null ? null : Duration.ofSeconds(body.timeoutSeconds()),
        decode(body.files()),
        BootstrappedMode.NEVER,
        body.toolchain());
  }

  private static void checkToolchain(String toolchain) {
    if (toolchain != null && !Toolchains.NAME.matcher(toolchain).matches()) {
      throw new ApiException(
          400,
          "toolchain '" + printable(toolchain) + "' is not a toolchain name",
          "letters, digits, '.', '_', '+', '-' (at most 100, not starting with '.'); GET /v1/host"
              + " lists the host's toolchains");
    }
  }

  private static String printable(String text) {
    String cut = text.length() > 100 ? text.substring(0, 100) + "..." : text;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }

  private static Map<String, byte[]> decode(Map<String, String> files) {
    Map<String, byte[]> decoded = new LinkedHashMap<>();
    if (files != null) {
      files.forEach(
          (name, base64) -> {
            if (base64 == null) {
              throw new ApiException(
                  400, "files." + name + " is null", "give the content in base64");
            }
            try {
              decoded.put(name, Base64.getDecoder().decode(base64));
            } catch (IllegalArgumentException e) {
              throw new ApiException(
                  400,
                  "files." + name + " is not valid base64: " + e.getMessage(),
                  "encode the file's content in standard base64 (RFC 4648)");
            }
          });
    }
    return decoded;
  }
}
