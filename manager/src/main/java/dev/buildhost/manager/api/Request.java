package dev.buildhost.manager.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** One API request: the exchange, the decoded path parameters and query, and answer helpers. */
final class Request {

  private final HttpExchange exchange;
  private final List<String> params;
  private final Map<String, String> query;
  private int status;

  Request(HttpExchange exchange, List<String> params, Map<String, String> query) {
    this.exchange = exchange;
    this.params = params;
    this.query = query;
  }

  HttpExchange exchange() {
    return exchange;
  }

  /** The n-th {@code {}} of the route's template, percent-decoded. */
  String param(int n) {
    return params.get(n);
  }

  String query(String name) {
    return query.get(name);
  }

  boolean queryFlag(String name) {
    String value = query.get(name);
    if (value == null || value.equals("false") || value.equals("0")) {
      return false;
    }
    if (value.isEmpty() || value.equals("true") || value.equals("1")) {
      return true;
    }
    throw new ApiException(
        400,
        "query parameter " + name + "=" + value + " is not a boolean",
        "use " + name + "=true or " + name + "=false");
  }

  int status() {
    return status;
  }

  /**
   * The request body, refused with 413 when it is larger than {@code limit}: by its declared
   * Content-Length before anything is read, else while reading.
   */
  InputStream body(long limit) {
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      long length;
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        throw new ApiException(
            400,
            "Content-Length '" + declared + "' is not a number",
            "send a valid Content-Length");
      }
      if (length > limit) {
        throw tooLarge(length, limit);
      }
    }
    return new LimitedInputStream(exchange.getRequestBody(), limit);
  }

  /** The body as JSON mapped onto {@code type}; 400 naming the problem when it is malformed. */
  <T> T json(Class<T> type, long limit) {
    byte[] bytes;
    try (InputStream in = body(limit)) {
      bytes = in.readAllBytes();
    } catch (LimitedInputStream.TooLargeException e) {
      throw tooLarge(-1, e.limit());
    } catch (IOException e) {
      throw new ApiException(
          400, "could not read the request body: " + e.getMessage(), "send the request again");
    }
    if (bytes.length == 0) {
      throw new ApiException(
          400,
          "the request body is empty; a JSON object is expected",
          "send a JSON object (see doc/api/openapi.yaml)");
    }
    try {
      T value = Json.MAPPER.readValue(bytes, type);
      if (value == null) {
        throw new ApiException(
            400,
            "the request body is JSON null; a JSON object is expected",
            "send a JSON object (see doc/api/openapi.yaml)");
      }
      return value;
    } catch (UnrecognizedPropertyException e) {
      throw new ApiException(
          400,
          "unknown field '" + e.getPropertyName() + "' in the request body" + location(e),
          "known fields: " + e.getKnownPropertyIds());
    } catch (JsonProcessingException e) {
      throw new ApiException(
          400,
          "malformed JSON in the request body: " + e.getOriginalMessage() + location(e),
          "send a valid JSON object (see doc/api/openapi.yaml)");
    } catch (IOException e) {
      throw new ApiException(
          400, "could not read the request body: " + e.getMessage(), "send the request again");
    }
  }

  private static String location(JsonProcessingException e) {
    return e.getLocation() == null
        ? ""
        : " (line "
            + e.getLocation().getLineNr()
            + ", column "
            + e.getLocation().getColumnNr()
            + ")";
  }

  /** 413 for a body over {@code limit}; {@code declared} is its Content-Length, or -1. */
  static ApiException tooLarge(long declared, long limit) {
    String size = declared >= 0 ? " (" + declared + " bytes)" : "";
    return new ApiException(
        413,
        "the request body" + size + " is over the limit of " + limit + " bytes",
        "send less: put large files one by one with PUT /v1/instances/{id}/files/{name}");
  }

  void sendJson(int code, Object value) throws IOException {
    byte[] bytes = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    send(code, bytes);
  }

  void sendText(int code, String contentType, String text) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    send(code, text.getBytes(StandardCharsets.UTF_8));
  }

  void sendEmpty(int code) throws IOException {
    status = code;
    exchange.sendResponseHeaders(code, -1);
  }

  /** Starts a streamed (chunked) answer; the caller writes to and closes the stream. */
  OutputStream startStream(int code, String contentType) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    status = code;
    exchange.sendResponseHeaders(code, 0);
    return exchange.getResponseBody();
  }

  private void send(int code, byte[] bytes) throws IOException {
    status = code;
    exchange.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
