package dev.buildhost.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FleetSettingsTest {

  @TempDir Path dir;

  private final Map<FleetSettings.Key, FleetSettings.Value> given =
      new EnumMap<>(FleetSettings.Key.class);
  private int line;

  private void set(FleetSettings.Key key, String text) {
    given.put(key, new FleetSettings.Value(text, "daemon.conf:" + ++line));
  }

  private FleetSettings parsed() {
    return FleetSettings.parse(given).orElseThrow();
  }

  private String error() {
    return assertThrows(IllegalArgumentException.class, () -> FleetSettings.parse(given))
        .getMessage();
  }

  @Test
  void noKeySetMeansNoFleet() {
    assertEquals(Optional.empty(), FleetSettings.parse(Map.of()));
  }

  @Test
  void endpointsAloneGiveTheDefaults() {
    set(
        FleetSettings.Key.ENDPOINTS,
        "http://127.0.0.1:2379, http://127.0.0.2:2379,http://etcd3:2379");
    FleetSettings s = parsed();
    assertEquals(
        List.of(
            URI.create("http://127.0.0.1:2379"),
            URI.create("http://127.0.0.2:2379"),
            URI.create("http://etcd3:2379")),
        s.endpoints());
    assertEquals("/buildhost/default/", s.keyPrefix());
    assertEquals(FleetSettings.machineHostName(), s.host());
    assertEquals(1, s.rebootSlots());
    assertEquals(Duration.ofHours(1), s.slotTimeout());
    assertEquals(Duration.ofSeconds(15), s.leaseTtl());
    assertTrue(s.tls().isEmpty());
    assertTrue(s.credentials().isEmpty());
  }

  @Test
  void everyKeyIsRead() throws IOException {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    Path key = Files.writeString(dir.resolve("key.pem"), "x");
    Path password = Files.writeString(dir.resolve("password"), "secret\n");
    set(FleetSettings.Key.ENDPOINTS, "https://e1:2379,https://e2:2379");
    set(FleetSettings.Key.NAME, "lab-2");
    set(FleetSettings.Key.HOST, "build-7.example.org");
    set(FleetSettings.Key.CA, ca.toString());
    set(FleetSettings.Key.CERT, cert.toString());
    set(FleetSettings.Key.KEY, key.toString());
    set(FleetSettings.Key.USER, "buildhost");
    set(FleetSettings.Key.PASSWORD_FILE, password.toString());
    set(FleetSettings.Key.REBOOT_SLOTS, "3");
    set(FleetSettings.Key.SLOT_TIMEOUT, "30m");
    set(FleetSettings.Key.LEASE_TTL, "5s");
    set(FleetSettings.Key.REQUEST_TIMEOUT, "3s");
    FleetSettings s = parsed();
    assertEquals("/buildhost/lab-2/", s.keyPrefix());
    assertEquals("build-7.example.org", s.host());
    assertEquals(new FleetSettings.Tls(ca, cert, key), s.tls().orElseThrow());
    assertEquals(
        new FleetSettings.Credentials("buildhost", password), s.credentials().orElseThrow());
    assertEquals(3, s.rebootSlots());
    assertEquals(Duration.ofMinutes(30), s.slotTimeout());
    assertEquals(Duration.ofSeconds(5), s.leaseTtl());
    assertEquals(Duration.ofSeconds(3), s.requestTimeout());
  }

  @Test
  void endpointsNoneMeansNoFleetWhateverElseIsSet() {
    set(FleetSettings.Key.ENDPOINTS, "none");
    set(FleetSettings.Key.NAME, "default");
    set(FleetSettings.Key.REBOOT_SLOTS, "1");
    assertEquals(Optional.empty(), FleetSettings.parse(given));
  }

  @Test
  void noneIsTheDefaultOfSettingsWithoutValue() {
    set(FleetSettings.Key.ENDPOINTS, "http://e1:2379");
    set(FleetSettings.Key.HOST, "none");
    set(FleetSettings.Key.USER, "none");
    set(FleetSettings.Key.PASSWORD_FILE, "none");
    FleetSettings s = parsed();
    assertEquals(FleetSettings.machineHostName(), s.host());
    assertTrue(s.credentials().isEmpty());
  }

  @Test
  void httpsEndpointsWithoutFilesTrustTheJdksCas() {
    set(FleetSettings.Key.ENDPOINTS, "https://e1:2379");
    assertEquals(new FleetSettings.Tls(null, null, null), parsed().tls().orElseThrow());
  }

  @Test
  void aFleetKeyWithoutEndpointsIsAnErrorNamingItsLine() {
    set(FleetSettings.Key.NAME, "lab");
    String error = error();
    assertTrue(error.startsWith("daemon.conf:1: fleet_name is set but fleet_endpoints"), error);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "fleet_endpoints | 127.0.0.1:2379 | is not an http:// or https:// URL",
        "fleet_endpoints | ftp://e1:2379 | is not an http:// or https:// URL",
        "fleet_endpoints | http://e1 | does not name a host and port",
        "fleet_endpoints | http://e1:2379/v3 | has a path",
        "fleet_endpoints | http://e1:2379,,http://e2:2379 | an empty entry between commas",
        "fleet_endpoints | http://e1:2379,http://e1:2379 | is named twice",
        "fleet_endpoints | http://e1:2379,https://e2:2379 | http and https endpoints are mixed",
        "fleet_name | Lab/1 | not 1-63 of a-z 0-9",
        "fleet_host | a/b | not a host name",
        "fleet_reboot_slots | 0 | not a positive whole number",
        "fleet_reboot_slots | two | not a positive whole number",
        "fleet_slot_timeout | soon | is not a duration",
        "fleet_lease_ttl | 1s | shorter than 2s",
        "fleet_lease_ttl | 2500ms | whole seconds",
        "fleet_request_timeout | 500ms | outside 1s-5m",
        "fleet_request_timeout | 6m | outside 1s-5m",
        "fleet_request_timeout | 99999999999999999999d | is not a duration",
        "fleet_user | buildhost | fleet_user and fleet_password_file are given together",
        "fleet_password_file | /nonexistent/password | no such file",
        "fleet_ca | /nonexistent/ca.pem | no such file",
      })
  void aBadValueIsAnErrorNamingItsLineAndWhatIsExpected(String key, String value, String why) {
    FleetSettings.Key k = FleetSettings.Key.ofKey(key).orElseThrow();
    if (k != FleetSettings.Key.ENDPOINTS) {
      set(FleetSettings.Key.ENDPOINTS, "http://e1:2379");
    }
    set(k, value);
    String error = error();
    String where = "daemon.conf:" + line + ": " + key + " = '" + value + "': ";
    assertTrue(error.startsWith(where), error);
    assertTrue(error.contains(why), error);
    assertTrue(error.contains("expected " + k.label()), error);
  }

  @Test
  void tlsFilesForHttpEndpointsAreAnError() throws IOException {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    set(FleetSettings.Key.ENDPOINTS, "http://e1:2379");
    set(FleetSettings.Key.CA, ca.toString());
    assertTrue(error().contains("TLS files are for https endpoints"));
  }

  @Test
  void aCertificateWithoutItsKeyIsAnError() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    set(FleetSettings.Key.ENDPOINTS, "https://e1:2379");
    set(FleetSettings.Key.CERT, cert.toString());
    String error = error();
    assertTrue(error.startsWith("daemon.conf:2: fleet_cert"), error);
    assertTrue(error.contains("given together"), error);
  }

  @Test
  void keysAreFoundByTheirConfigName() {
    for (FleetSettings.Key key : FleetSettings.Key.values()) {
      assertEquals(Optional.of(key), FleetSettings.Key.ofKey(key.key()));
      assertTrue(key.key().startsWith("fleet_"), key.key());
    }
    assertEquals(Optional.empty(), FleetSettings.Key.ofKey("fleet"));
  }
}
