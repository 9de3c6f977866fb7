package dev.buildhost.manager.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Matches a method and a raw path against route templates. A template's {@code {}} matches one path
 * segment, a final {@code {*}} the rest of the path (one or more segments, joined with '/').
 * Segments are percent-decoded one by one, so an encoded '/' stays inside its parameter where the
 * handler can refuse it.
 */
final class Router {

  interface Handler {
    void handle(Request request) throws IOException;
  }

  record Route(String method, String template, boolean authenticated, Handler handler) {}

  /** A route and its decoded parameters, or the methods the path allows when none matched. */
  record Match(Route route, List<String> params, Set<String> allowedMethods) {}

  private final List<Route> routes = new ArrayList<>();

  Router add(String method, String template, Handler handler) {
    routes.add(new Route(method, template, true, handler));
    return this;
  }

  Router addPublic(String method, String template, Handler handler) {
    routes.add(new Route(method, template, false, handler));
    return this;
  }

  /** The routes in the order they were added (OpenApiRoutesTest checks them against the spec). */
  List<Route> routes() {
    return List.copyOf(routes);
  }

  /** The route for this request; a Match with a null route when nothing fits. */
  Match match(String method, String rawPath) {
    List<String> segments = segments(rawPath);
    Set<String> allowed = new LinkedHashSet<>();
    for (Route route : routes) {
      List<String> params = matchTemplate(route.template(), segments);
      if (params == null) {
        continue;
      }
      if (route.method().equals(method)) {
        return new Match(route, params, Set.of());
      }
      allowed.add(route.method());
    }
    return new Match(null, List.of(), allowed);
  }

  private static List<String> matchTemplate(String template, List<String> segments) {
    List<String> parts = segments(template);
    List<String> params = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      String part = parts.get(i);
      if (part.equals("{*}")) {
        if (i >= segments.size()) {
          return null;
        }
        params.add(String.join("/", segments.subList(i, segments.size())));
        return params;
      }
      if (i >= segments.size()) {
        return null;
      }
      if (part.equals("{}")) {
        params.add(segments.get(i));
      } else if (!part.equals(segments.get(i))) {
        return null;
      }
    }
    return parts.size() == segments.size() ? params : null;
  }

  /** The decoded segments of a path; a trailing slash makes an empty last segment. */
  static List<String> segments(String rawPath) {
    if (!rawPath.startsWith("/")) {
      throw new ApiException(
          400, "the path '" + rawPath + "' does not start with '/'", "see doc/api/openapi.yaml");
    }
    List<String> out = new ArrayList<>();
    for (String raw : Arrays.asList(rawPath.substring(1).split("/", -1))) {
      out.add(decode(raw));
    }
    return out;
  }

  /** The query string's parameters, decoded; a name without '=' has the empty value. */
  static Map<String, String> query(String rawQuery) {
    Map<String, String> out = new LinkedHashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return out;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      out.put(name, value);
    }
    return out;
  }

  /** Strict percent-decoding into UTF-8; a bad escape or invalid UTF-8 is a 400. */
  static String decode(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '%') {
        bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
        continue;
      }
      int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
      int lo = hi >= 0 ? Character.digit(raw.charAt(i + 2), 16) : -1;
      if (hi < 0 || lo < 0) {
        throw new ApiException(400, "bad percent-escape in '" + raw + "'", "escape '%' as %25");
      }
      bytes.write(hi * 16 + lo);
      i += 2;
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new ApiException(
          400, "'" + raw + "' is not percent-encoded UTF-8", "encode names as UTF-8");
    }
  }
}
