package dev.buildhost.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;

/**
 * The connection to a fleet's etcd cluster: one jetcd client over every endpoint (it moves to
 * another member when one fails), with TLS and authentication as the settings say. Every key the
 * fleet reads or writes is under {@link FleetSettings#keyPrefix()}: {@link #key} makes them.
 */
public final class Fleet implements AutoCloseable {

  private final FleetSettings settings;
  private final Client client;

  private Fleet(FleetSettings settings, Client client) {
    this.settings = settings;
    this.client = client;
  }

  /**
   * A client of the fleet's cluster. It connects on first use, so an unreachable cluster is
   * reported by the first request, not here; a password file that cannot be read or TLS files that
   * are not PEM are reported here.
   */
  public static Fleet connect(FleetSettings settings) {
    ClientBuilder builder =
        Client.builder()
            .endpoints(settings.endpoints().toArray(URI[]::new))
            .connectTimeout(settings.requestTimeout())
            // A request to a dead member is retried on another, but not beyond its own timeout.
            .retryMaxDuration(settings.requestTimeout())
            .keepaliveTime(Duration.ofSeconds(10))
            .keepaliveTimeout(Duration.ofSeconds(5));
    settings.credentials().ifPresent(c -> builder.user(bytes(c.user())).password(password(c)));
    settings.tls().ifPresent(tls -> tls(builder, tls));
    return new Fleet(settings, builder.build());
  }

  private static void tls(ClientBuilder builder, FleetSettings.Tls tls) {
    try {
      builder.sslContext(
          ssl -> {
            if (tls.caFile() != null) {
              ssl.trustManager(tls.caFile().toFile());
            }
            if (tls.certFile() != null) {
              ssl.keyManager(tls.certFile().toFile(), tls.keyFile().toFile());
            }
          });
    } catch (SSLException | IllegalArgumentException e) {
      throw new FleetException(
          "the fleet's TLS files ("
              + tls.caFile()
              + ", "
              + tls.certFile()
              + ", "
              + tls.keyFile()
              + ") cannot be used: "
              + e.getMessage(),
          e);
    }
  }

  private static ByteSequence password(FleetSettings.Credentials credentials) {
    String password;
    try {
      password =
          Files.readString(credentials.passwordFile(), StandardCharsets.UTF_8)
              .lines()
              .findFirst()
              .orElse("");
    } catch (IOException e) {
      throw new FleetException(
          "cannot read the fleet's password file " + credentials.passwordFile() + ": " + e, e);
    }
    if (password.isEmpty()) {
      throw new FleetException(
          "the fleet's password file " + credentials.passwordFile() + " has no password");
    }
    return bytes(password);
  }

  public FleetSettings settings() {
    return settings;
  }

  /** The jetcd client, for the fleet's parts (registry, reboot slots). */
  public Client client() {
    return client;
  }

  /** The key {@code /buildhost/<fleet>/<relative>}. */
  public ByteSequence key(String relative) {
    return bytes(settings.keyPrefix() + relative);
  }

  /** {@code key} without the fleet's prefix, e.g. {@code hosts/h1}. */
  public String relative(ByteSequence key) {
    String text = key.toString(StandardCharsets.UTF_8);
    return text.startsWith(settings.keyPrefix())
        ? text.substring(settings.keyPrefix().length())
        : text;
  }

  /** The endpoints as one line, for messages. */
  public String endpointsText() {
    return settings.endpoints().stream().map(URI::toString).collect(Collectors.joining(","));
  }

  /**
   * The result of an etcd request, waited for at most the settings' request timeout.
   *
   * @param what what the request does, for the message, e.g. "write the host record"
   * @throws FleetException when etcd does not answer in time or refuses
   */
  public <T> T await(CompletableFuture<T> request, String what) {
    try {
      return request.get(settings.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      request.cancel(true);
      Thread.currentThread().interrupt();
      throw new FleetException("interrupted while waiting to " + what, e);
    } catch (TimeoutException e) {
      request.cancel(true);
      throw new FleetException(
          "etcd ("
              + endpointsText()
              + ") did not answer within "
              + settings.requestTimeout().toMillis()
              + " ms (fleet_request_timeout) when asked to "
              + what,
          e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new FleetException(
          "etcd (" + endpointsText() + ") failed to " + what + ": " + cause.getMessage(), cause);
    }
  }

  /** {@code text} as UTF-8 bytes, the form of every key and value of the fleet. */
  public static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    client.close();
  }
}
