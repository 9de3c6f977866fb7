package dev.buildhost.manager.api;

import dev.buildhost.manager.model.StartRequest;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of {@code POST /v1/instances}.
 *
 * @param machine        the machine to start an instance of
 * @param timeoutSeconds how long it may run; null for the daemon's default
 * @param files          files to put into the instance folder before it starts, name to base64
 *                       (the manager checks the names)
 */
public record StartBody(String machine, Long timeoutSeconds, Map<String, String> files) {

  /** Checks the fields and decodes the files; a 400 names the field that is wrong. */
  public StartRequest toRequest() {
    if (machine == null || machine.isBlank()) {
      throw new ApiException(400, "the field 'machine' is missing", "name a machine: {\"machine\": \"sample-vm\"}");
    }
    if (timeoutSeconds != null && timeoutSeconds <= 0) {
      throw new ApiException(400, "timeoutSeconds must be positive, not " + timeoutSeconds,
          "give the instance's time limit in seconds, or leave it out for the daemon's default");
    }
    Map<String, byte[]> decoded = new LinkedHashMap<>();
    if (files != null) {
      files.forEach((name, base64) -> {
        if (base64 == null) {
          throw new ApiException(400, "files." + name + " is null", "give the content in base64");
        }
        try {
          decoded.put(name, Base64.getDecoder().decode(base64));
        } catch (IllegalArgumentException e) {
          throw new ApiException(400, "files." + name + " is not valid base64: " + e.getMessage(),
              "encode the file's content in standard base64 (RFC 4648)");
        }
      });
    }
    return new StartRequest(machine, timeoutSeconds == null ? null : Duration.ofSeconds(timeoutSeconds), decoded);
  }
}
