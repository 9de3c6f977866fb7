package dev.buildhost.manager.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.client.ApiJson;

/** The server's end of the API's one JSON mapping ({@link ApiJson}). */
public final class Json {

  /**
   * As the client's, except that an unknown request field is an error: a typo must not be ignored.
   */
  public static final ObjectMapper MAPPER =
      ApiJson.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  private Json() {}
}
