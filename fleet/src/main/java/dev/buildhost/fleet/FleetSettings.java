package dev.buildhost.fleet;

import dev.buildhost.common.time.Durations;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a host joins its fleet: the etcd cluster it shares with the other hosts and the fleet's
 * rules. The daemon and the monitor read it from their config files with the same keys ({@link
 * Key}); when no key is set the host is in no fleet.
 *
 * @param endpoints the etcd members' client URLs, all {@code http} or all {@code https}
 * @param name the fleet's name: every key of the fleet is under {@link #keyPrefix()}
 * @param host this host's name in the fleet (its record, its reboot slot)
 * @param tls the CA and client certificate for {@code https} endpoints; empty for {@code http}
 * @param credentials etcd user and password file, when the cluster has authentication on
 * @param rebootSlots how many hosts of the fleet may reboot at once
 * @param slotTimeout how long a reboot slot is held for a host that does not come back
 * @param leaseTtl how long a host's record outlives its last keep-alive (its daemon's death)
 * @param requestTimeout how long one etcd request may take before etcd counts as unreachable
 */
public record FleetSettings(
    List<URI> endpoints,
    String name,
    String host,
    Optional<Tls> tls,
    Optional<Credentials> credentials,
    int rebootSlots,
    Duration slotTimeout,
    Duration leaseTtl,
    Duration requestTimeout) {

  public static final String DEFAULT_NAME = "default";
  public static final int DEFAULT_REBOOT_SLOTS = 1;
  public static final Duration DEFAULT_SLOT_TIMEOUT = Duration.ofHours(1);
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(15);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Shorter request timeouts fail on a healthy cluster under load; longer ones hold a monitor's
   * check for minutes while etcd is down.
   */
  static final Duration MIN_REQUEST_TIMEOUT = Duration.ofSeconds(1);

  static final Duration MAX_REQUEST_TIMEOUT = Duration.ofMinutes(5);

  /**
   * etcd refuses shorter leases than its election timeout allows; 2 s is safe with its defaults.
   */
  public static final Duration MIN_LEASE_TTL = Duration.ofSeconds(2);

  /** A fleet name is one path segment of an etcd key: no {@code /}, nothing to escape. */
  public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  /** A host name is one path segment too: a DNS name's characters. */
  public static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

  /** Where Linux keeps the host's name (what {@code hostname} prints). */
  private static final Path KERNEL_HOSTNAME = Path.of("/proc/sys/kernel/hostname");

  public FleetSettings {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("a fleet needs at least one etcd endpoint");
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("'" + name + "' is not a fleet name");
    }
    if (!HOST.matcher(host).matches()) {
      throw new IllegalArgumentException("'" + host + "' is not a host name");
    }
  }

  /** The machine's host name, as {@code hostname} prints it; {@code localhost} when unknown. */
  public static String machineHostName() {
    try {
      String name = Files.readString(KERNEL_HOSTNAME).strip();
      return HOST.matcher(name).matches() ? name : "localhost";
    } catch (IOException e) {
      return "localhost";
    }
  }

  /** The settings of a fleet on plain {@code http} endpoints, defaults for the rest (tests). */
  public static FleetSettings of(List<URI> endpoints, String name, String host) {
    return new FleetSettings(
        endpoints,
        name,
        host,
        Optional.empty(),
        Optional.empty(),
        DEFAULT_REBOOT_SLOTS,
        DEFAULT_SLOT_TIMEOUT,
        DEFAULT_LEASE_TTL,
        DEFAULT_REQUEST_TIMEOUT);
  }

  /** The same settings with another lease TTL. */
  public FleetSettings withLeaseTtl(Duration ttl) {
    return new FleetSettings(
        endpoints, name, host, tls, credentials, rebootSlots, slotTimeout, ttl, requestTimeout);
  }

  /** The same settings with other reboot slot rules. */
  public FleetSettings withRebootSlots(int slots, Duration timeout) {
    return new FleetSettings(
        endpoints, name, host, tls, credentials, slots, timeout, leaseTtl, requestTimeout);
  }

  /** The same settings with another etcd request timeout. */
  public FleetSettings withRequestTimeout(Duration timeout) {
    return new FleetSettings(
        endpoints, name, host, tls, credentials, rebootSlots, slotTimeout, leaseTtl, timeout);
  }

  /** The same settings for another host (several daemons on one machine, in tests). */
  public FleetSettings withHost(String other) {
    return new FleetSettings(
        endpoints,
        name,
        other,
        tls,
        credentials,
        rebootSlots,
        slotTimeout,
        leaseTtl,
        requestTimeout);
  }

  /** {@code /buildhost/<name>/}: every key this fleet writes starts so. */
  public String keyPrefix() {
    return "/buildhost/" + name + "/";
  }

  /**
   * TLS towards etcd.
   *
   * @param caFile the CA that signed the members' certificates; null: the JDK's trusted CAs
   * @param certFile the client certificate (PEM), or null when the cluster asks for none
   * @param keyFile the client certificate's key (PEM, PKCS#8), given with {@code certFile}
   */
  public record Tls(Path caFile, Path certFile, Path keyFile) {}

  /**
   * etcd authentication.
   *
   * @param user the etcd user
   * @param passwordFile the file holding its password (one line), read when connecting
   */
  public record Credentials(String user, Path passwordFile) {}

  /** The value of a setting without a value of its own: its default. */
  public static final String NONE = "none";

  /**
   * The settings' keys, the same in the daemon's and the monitor's config files. Those whose
   * default is no value may be written {@code none}, which means their default.
   */
  public enum Key {
    ENDPOINTS(
        "fleet_endpoints",
        "URL,...",
        true,
        "none (no fleet)",
        "client URLs of the fleet's etcd members, comma-separated, all http:// or all https://;"
            + " setting it puts the host in a fleet"),
    NAME(
        "fleet_name",
        "NAME",
        false,
        DEFAULT_NAME,
        "the fleet's name, 1-63 of a-z 0-9 . _ -: its keys in etcd are under /buildhost/<name>/"),
    HOST(
        "fleet_host",
        "NAME",
        true,
        "none (the machine's host name)",
        "this host's name in the fleet: the key of its record and of its reboot slot"),
    CA(
        "fleet_ca",
        "FILE",
        true,
        "none (the JDK's trusted CAs)",
        "CA certificate (PEM) of https endpoints"),
    CERT(
        "fleet_cert",
        "FILE",
        true,
        "none",
        "client certificate (PEM) for https endpoints, with fleet_key"),
    KEY("fleet_key", "FILE", true, "none", "key of fleet_cert (PEM, PKCS#8)"),
    USER("fleet_user", "NAME", true, "none", "etcd user, when the cluster has authentication on"),
    PASSWORD_FILE(
        "fleet_password_file",
        "FILE",
        true,
        "none",
        "file holding the password of fleet_user (its first line)"),
    REBOOT_SLOTS(
        "fleet_reboot_slots",
        "N",
        false,
        Integer.toString(DEFAULT_REBOOT_SLOTS),
        "how many hosts of the fleet may reboot at once"),
    SLOT_TIMEOUT(
        "fleet_slot_timeout",
        "DURATION",
        false,
        "1h",
        "after this long a reboot slot whose host has not come back is freed"),
    LEASE_TTL(
        "fleet_lease_ttl",
        "DURATION",
        false,
        DEFAULT_LEASE_TTL.toSeconds() + "s",
        "whole seconds, at least 2: a host whose daemon died leaves the fleet's list within this"),
    REQUEST_TIMEOUT(
        "fleet_request_timeout",
        "DURATION",
        false,
        DEFAULT_REQUEST_TIMEOUT.toSeconds() + "s",
        "how long one etcd request may take before etcd counts as unreachable for it");

    private final String key;
    private final String label;
    private final boolean optional;
    private final String defaultText;
    private final String description;

    Key(String key, String label, boolean optional, String defaultText, String description) {
      this.key = key;
      this.label = label;
      this.optional = optional;
      this.defaultText = defaultText;
      this.description = description;
    }

    /** The config file key, e.g. {@code fleet_endpoints}. */
    public String key() {
      return key;
    }

    /** What the value looks like, e.g. {@code DURATION}. */
    public String label() {
      return label;
    }

    /** The default, as documentation shows it. */
    public String defaultText() {
      return defaultText;
    }

    public String description() {
      return description;
    }

    /** The key of config file key {@code key}, if it is one of the fleet's. */
    public static Optional<Key> ofKey(String key) {
      for (Key k : values()) {
        if (k.key.equals(key)) {
          return Optional.of(k);
        }
      }
      return Optional.empty();
    }
  }

  /**
   * One value as written.
   *
   * @param text the value
   * @param origin where it was written, for messages: {@code daemon.conf:12} or {@code
   *     --fleet-name}
   */
  public record Value(String text, String origin) {}

  /**
   * The fleet the given values describe, or none when no value is given.
   *
   * @throws IllegalArgumentException naming the origin of the value at fault and what is expected
   */
  public static Optional<FleetSettings> parse(Map<Key, Value> written) {
    Map<Key, Value> given = new EnumMap<>(Key.class);
    written.forEach(
        (key, value) -> {
          if (!(key.optional && value.text().strip().equalsIgnoreCase(NONE))) {
            given.put(key, value);
          }
        });
    if (written.containsKey(Key.ENDPOINTS) && !given.containsKey(Key.ENDPOINTS)) {
      return Optional.empty(); // "fleet_endpoints = none": in no fleet, whatever else is set
    }
    if (given.isEmpty()) {
      return Optional.empty();
    }
    Values values = new Values(given);
    if (!given.containsKey(Key.ENDPOINTS)) {
      Key first = given.keySet().iterator().next();
      throw new IllegalArgumentException(
          values.origin(first)
              + ": "
              + first.key()
              + " is set but fleet_endpoints is not; a host joins a fleet by naming its etcd"
              + " endpoints (or remove every fleet_ setting)");
    }
    List<URI> endpoints = values.endpoints();
    boolean https = endpoints.get(0).getScheme().equals("https");
    String name = given.containsKey(Key.NAME) ? values.name() : DEFAULT_NAME;
    String host = given.containsKey(Key.HOST) ? values.host() : machineHostName();
    Path ca = values.file(Key.CA);
    Path cert = values.file(Key.CERT);
    Path key = values.file(Key.KEY);
    if ((cert == null) != (key == null)) {
      Key set = cert == null ? Key.KEY : Key.CERT;
      throw values.bad(set, "fleet_cert and fleet_key are given together or not at all");
    }
    if (!https && (ca != null || cert != null)) {
      throw values.bad(
          ca != null ? Key.CA : Key.CERT, "TLS files are for https endpoints, and these are http");
    }
    Optional<Tls> tls = https ? Optional.of(new Tls(ca, cert, key)) : Optional.empty();
    String user = values.text(Key.USER);
    Path passwordFile = values.file(Key.PASSWORD_FILE);
    if ((user == null) != (passwordFile == null)) {
      Key set = user == null ? Key.PASSWORD_FILE : Key.USER;
      throw values.bad(set, "fleet_user and fleet_password_file are given together or not at all");
    }
    Optional<Credentials> credentials =
        user == null ? Optional.empty() : Optional.of(new Credentials(user, passwordFile));
    int slots =
        given.containsKey(Key.REBOOT_SLOTS)
            ? values.positiveInt(Key.REBOOT_SLOTS)
            : DEFAULT_REBOOT_SLOTS;
    Duration slotTimeout =
        given.containsKey(Key.SLOT_TIMEOUT)
            ? values.duration(Key.SLOT_TIMEOUT)
            : DEFAULT_SLOT_TIMEOUT;
    Duration ttl = given.containsKey(Key.LEASE_TTL) ? values.leaseTtl() : DEFAULT_LEASE_TTL;
    Duration requestTimeout =
        given.containsKey(Key.REQUEST_TIMEOUT) ? values.requestTimeout() : DEFAULT_REQUEST_TIMEOUT;
    return Optional.of(
        new FleetSettings(
            endpoints, name, host, tls, credentials, slots, slotTimeout, ttl, requestTimeout));
  }

  private record Values(Map<Key, Value> given) {

    Values {
      given = new EnumMap<>(given);
    }

    String origin(Key key) {
      return given.get(key).origin();
    }

    IllegalArgumentException bad(Key key, String why) {
      return new IllegalArgumentException(
          origin(key)
              + ": "
              + key.key()
              + " = '"
              + given.get(key).text()
              + "': "
              + why
              + "; expected "
              + key.label()
              + ": "
              + key.description());
    }

    /** The value, or null when not given; an empty value is an error. */
    String text(Key key) {
      Value value = given.get(key);
      if (value == null) {
        return null;
      }
      if (value.text().isBlank()) {
        throw bad(key, "it is empty");
      }
      return value.text().strip();
    }

    List<URI> endpoints() {
      String text = text(Key.ENDPOINTS);
      List<URI> endpoints = new ArrayList<>();
      for (String part : text.split(",")) {
        String item = part.strip();
        if (item.isEmpty()) {
          throw bad(Key.ENDPOINTS, "an empty entry between commas");
        }
        URI uri;
        try {
          uri = new URI(item);
        } catch (URISyntaxException e) {
          throw bad(Key.ENDPOINTS, "'" + item + "' is not an http:// or https:// URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
          throw bad(Key.ENDPOINTS, "'" + item + "' is not an http:// or https:// URL");
        }
        if (uri.getHost() == null || uri.getPort() < 0) {
          throw bad(Key.ENDPOINTS, "'" + item + "' does not name a host and port");
        }
        boolean hasPath = uri.getRawPath() != null && !uri.getRawPath().matches("/?");
        if (hasPath || uri.getRawQuery() != null) {
          throw bad(Key.ENDPOINTS, "'" + item + "' has a path; an endpoint is scheme://host:port");
        }
        URI endpoint = URI.create(scheme + "://" + uri.getRawAuthority());
        if (endpoints.contains(endpoint)) {
          throw bad(Key.ENDPOINTS, "'" + item + "' is named twice");
        }
        if (!endpoints.isEmpty() && !endpoints.get(0).getScheme().equals(scheme)) {
          throw bad(Key.ENDPOINTS, "http and https endpoints are mixed");
        }
        endpoints.add(endpoint);
      }
      return endpoints;
    }

    String name() {
      String name = text(Key.NAME);
      if (!FleetSettings.NAME.matcher(name).matches()) {
        throw bad(Key.NAME, "not 1-63 of a-z 0-9 . _ - starting with a letter or digit");
      }
      return name;
    }

    String host() {
      String host = text(Key.HOST);
      if (!FleetSettings.HOST.matcher(host).matches()) {
        throw bad(
            Key.HOST, "not a host name: letters, digits, . _ - starting with a letter or digit");
      }
      return host;
    }

    /** A readable regular file, or null when not given. */
    Path file(Key key) {
      String text = text(key);
      if (text == null) {
        return null;
      }
      Path file = Path.of(text).toAbsolutePath().normalize();
      if (!Files.isRegularFile(file)) {
        throw bad(key, "no such file");
      }
      if (!Files.isReadable(file)) {
        throw bad(key, "the file cannot be read by this user");
      }
      return file;
    }

    int positiveInt(Key key) {
      String text = text(key);
      try {
        int n = Integer.parseInt(text);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw bad(key, "not a positive whole number");
    }

    Duration duration(Key key) {
      try {
        return Durations.parsePositive(text(key));
      } catch (IllegalArgumentException e) {
        throw bad(key, e.getMessage());
      }
    }

    Duration leaseTtl() {
      Duration ttl = duration(Key.LEASE_TTL);
      if (ttl.toMillis() % 1000 != 0) {
        throw bad(Key.LEASE_TTL, "etcd leases last whole seconds");
      }
      if (ttl.compareTo(MIN_LEASE_TTL) < 0) {
        throw bad(Key.LEASE_TTL, "shorter than " + MIN_LEASE_TTL.toSeconds() + "s");
      }
      return ttl;
    }

    Duration requestTimeout() {
      Duration timeout = duration(Key.REQUEST_TIMEOUT);
      if (timeout.compareTo(MIN_REQUEST_TIMEOUT) < 0
          || timeout.compareTo(MAX_REQUEST_TIMEOUT) > 0) {
        throw bad(
            Key.REQUEST_TIMEOUT,
            "outside "
                + MIN_REQUEST_TIMEOUT.toSeconds()
                + "s-"
                + MAX_REQUEST_TIMEOUT.toMinutes()
                + "m");
      }
      return timeout;
    }
  }
}
