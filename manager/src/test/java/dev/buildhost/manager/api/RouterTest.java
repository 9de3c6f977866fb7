package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RouterTest {

  private final Router router =
      new Router()
          .add("GET", "/v1/instances/{}", r -> {})
          .add("DELETE", "/v1/instances/{}", r -> {})
          .add("GET", "/v1/instances/{}/files/{*}", r -> {});

  @Test
  void parametersArePercentDecodedSegmentBySegment() {
    Router.Match match = router.match("GET", "/v1/instances/a%20b/files/x%2Fy");
    assertEquals("/v1/instances/{}/files/{*}", match.route().template());
    assertEquals(
        List.of("a b", "x/y"), match.params(), "an encoded '/' stays inside its parameter");
    assertEquals(
        List.of("id", "a/b/c"), router.match("GET", "/v1/instances/id/files/a/b/c").params());
    assertEquals(List.of("é"), router.match("GET", "/v1/instances/%C3%A9").params());
  }

  @Test
  void anotherMethodOnAKnownPathTellsWhatIsAllowed() {
    Router.Match match = router.match("PUT", "/v1/instances/x");
    assertNull(match.route());
    assertEquals(Set.of("GET", "DELETE"), match.allowedMethods());
    assertEquals(Set.of(), router.match("GET", "/v1/instancesx").allowedMethods());
    assertNull(router.match("GET", "/v1/instances/x/").route(), "a trailing slash is another path");
    assertNull(
        router.match("GET", "/v1/instances/x/files").route(), "{*} needs at least one segment");
  }

  @ParameterizedTest
  @ValueSource(strings = {"%", "%2", "%zz", "%C3", "%FF"})
  void badEscapesAre400(String segment) {
    ApiException e =
        assertThrows(ApiException.class, () -> router.match("GET", "/v1/instances/" + segment));
    assertEquals(400, e.status());
  }

  @Test
  void theQueryIsDecoded() {
    assertEquals(
        Map.of("follow", "true", "instance", "a b", "flag", ""),
        Router.query("follow=true&instance=a%20b&flag"));
    assertEquals(Map.of(), Router.query(null));
  }
}
