package dev.buildhost.manager.api;

import dev.buildhost.client.wire.StartBody;
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
    Map<String, byte[]> decoded = new LinkedHashMap<>();
    if (body.files() != null) {
      body.files()
          .forEach(
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
    return new StartRequest(
        machine, timeoutSeconds == null ? null : Duration.ofSeconds(timeoutSeconds), decoded);
  }
}
