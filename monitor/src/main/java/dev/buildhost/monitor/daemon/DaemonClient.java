package dev.buildhost.monitor.daemon;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.monitor.config.MonitorConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The part of the daemon's HTTP API the monitor uses, through the api-client module's {@link
 * ApiClient} and nothing of the manager's classes: {@code POST /v1/host/drain} (200 with {@code
 * "draining": true}), {@code GET /v1/instances}, {@code DELETE /v1/host/drain}. Every request
 * carries {@code Authorization: Bearer <token>} when a token file exists. Maps the client's {@link
 * ApiClientException} to {@link DaemonException}, and a refused connection to {@link
 * DaemonUnreachableException}.
 */
public final class DaemonClient {
  private final URI base;
  private final ApiClient api;

  /**
   * An instance as the daemon lists it.
   *
   * @param guestMayRun whether a guest of it may still run (see {@link #active()})
   */
  public record InstanceInfo(String id, String state, boolean guestMayRun) {
    /** An instance whose guest may run as long as it has not stopped. */
    public InstanceInfo(String id, String state) {
      this(id, state, !state.equals("STOPPED"));
    }

    /**
     * STARTING, RUNNING and STOPPING instances hold up a drain; so does an UNKNOWN one (its journal
     * record cannot be read) while a guest with its id may run: the daemon knows nothing of when
     * that guest ends, and a reboot would cut it off. An UNKNOWN instance whose guest is gone (the
     * daemon found none, or it was terminated) does not: like a STOPPED one, all it has left are
     * its folders.
     */
    public boolean active() {
      return guestMayRun;
    }

    @Override
    public String toString() {
      return id + " (" + state + ")";
    }
  }

  /**
   * @param timeout how long to wait for the connection and for each answer
   */
  public DaemonClient(URI base, String token, Duration timeout) {
    String b = base.toString();
    this.base = URI.create(b.endsWith("/") ? b : b + "/");
    this.api = new ApiClient(this.base, token, timeout, timeout);
  }

  public URI base() {
    return base;
  }

  /**
   * Finds the daemon: the configured URL, else the {@code url} in {@code <state_dir>/api.json} as
   * {@link DaemonEndpoint} reads it; the token comes from the configured token file if it exists.
   *
   * @return empty when neither says where the daemon is
   * @throws DaemonException when api.json or the token file exists but cannot be used
   */
  public static Optional<DaemonClient> locate(MonitorConfig cfg, Duration timeout)
      throws DaemonException {
    URI url = cfg.daemonUrl();
    if (url == null) {
      try {
        url = DaemonEndpoint.url(cfg.stateDir());
      } catch (ApiClientException e) {
        if (e.getCause() instanceof NoSuchFileException) {
          return Optional.empty();
        }
        throw new DaemonException(e.getMessage(), e);
      }
    }
    String token;
    Path tokenFile = cfg.tokenFile();
    try {
      token = Files.readString(tokenFile).strip();
    } catch (NoSuchFileException e) {
      token = null;
    } catch (IOException e) {
      throw new DaemonException(
          "cannot read the API token " + tokenFile + ": " + e.getMessage(), e);
    }
    return Optional.of(new DaemonClient(url, token, timeout));
  }

  /** Asks the daemon to start no new instances. */
  public void drain() throws DaemonException {
    HostInfo host = call("POST", "v1/host/drain", () -> api.drain(true));
    if (host == null || !host.draining()) {
      throw new DaemonException(
          "POST /v1/host/drain answered without \"draining\": true: " + host, null);
    }
  }

  /** Lets the daemon start instances again. */
  public void cancelDrain() throws DaemonException {
    call("DELETE", "v1/host/drain", () -> api.drain(false));
  }

  public List<InstanceInfo> instances() throws DaemonException {
    List<InstanceView> views = call("GET", "v1/instances", api::instances);
    if (views == null) {
      throw new DaemonException("GET /v1/instances did not answer a JSON array: null", null);
    }
    List<InstanceInfo> out = new ArrayList<>();
    for (InstanceView i : views) {
      if (i == null || i.id() == null || i.id().isEmpty() || i.state() == null) {
        throw new DaemonException(
            "GET /v1/instances listed an entry without id or state: " + i, null);
      }
      out.add(new InstanceInfo(i.id(), i.state().name(), i.guestMayRun()));
    }
    return out;
  }

  /**
   * One request; a refused connection is {@link DaemonUnreachableException}, every other failure
   * {@link DaemonException}.
   */
  private <T> T call(String method, String path, Supplier<T> request) throws DaemonException {
    URI uri = base.resolve(path);
    try {
      return request.get();
    } catch (ApiClientException e) {
      if (e.status() == ApiClientException.UNREACHABLE) {
        if (e.getCause() instanceof ConnectException c) {
          throw new DaemonUnreachableException("no daemon listens at " + base + " (" + c + ")", e);
        }
        if (e.getCause() instanceof InterruptedException) {
          throw new DaemonException(method + " " + uri + " interrupted", e);
        }
        throw new DaemonException(
            method + " " + uri + " failed: " + (e.getCause() == null ? e : e.getCause()), e);
      }
      if (e.getCause() != null) {
        // the answer was not the JSON agreed
        throw new DaemonException(
            method
                + " "
                + uri
                + " answered something that is not the JSON agreed: "
                + e.getMessage(),
            e);
      }
      throw new DaemonException(
          method
              + " "
              + uri
              + " answered HTTP "
              + e.status()
              + (e.status() == 401 ? " (is the token in the token file right?)" : "")
              + ": "
              + e.getMessage(),
          e);
    }
  }
}
