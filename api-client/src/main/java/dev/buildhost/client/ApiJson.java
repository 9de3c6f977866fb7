package dev.buildhost.client;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The API's JSON mapping, the same on both ends: times as ISO-8601 strings, null for absent fields.
 */
public final class ApiJson {

  /**
   * The client's reader and writer. It ignores fields it does not know, so that a client keeps
   * working against a newer daemon that added some; the daemon reads requests with {@link
   * #builder()} plus FAIL_ON_UNKNOWN_PROPERTIES, where a typo must not go unnoticed.
   */
  public static final ObjectMapper MAPPER =
      builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  private ApiJson() {}

  /** The mapping's common part, for either end to finish. */
  public static JsonMapper.Builder builder() {
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
  }
}
