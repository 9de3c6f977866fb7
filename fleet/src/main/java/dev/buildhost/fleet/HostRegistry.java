package dev.buildhost.fleet;

import dev.buildhost.common.threads.Threads;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host's record in its fleet: the key {@code /buildhost/<fleet>/hosts/<host>} bound to a lease
 * that this registry keeps alive. While the daemon lives the record stays; when it dies the lease
 * runs out and etcd deletes the record within the lease's TTL; on a clean stop the lease is revoked
 * and the record goes at once.
 *
 * <p>The record's content is the caller's (the daemon writes JSON); {@link #update} writes a new
 * one at once, when the host changes, not on a timer. etcd failures never reach the caller: the
 * registry logs them and tries again, from a new lease when the old one was lost (etcd down longer
 * than the TTL), with the latest record, until it is closed.
 */
public final class HostRegistry implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HostRegistry.class);

  /** Where the hosts' records are, under the fleet's prefix. */
  public static final String HOSTS = "hosts/";

  private static final Duration FIRST_RETRY = Duration.ofMillis(500);
  private static final Duration LAST_RETRY = Duration.ofSeconds(10);

  private final Fleet fleet;
  private final String host;
  private final ScheduledExecutorService worker;

  // Owned by the worker thread alone.
  private String record;
  private long leaseId;
  private CloseableClient keepAlive;
  private Duration retry = FIRST_RETRY;
  private boolean retryScheduled;
  private boolean reportedDown;
  private boolean closed;

  private HostRegistry(Fleet fleet, String record) {
    this.fleet = fleet;
    this.host = fleet.settings().host();
    this.record = record;
    this.worker = Threads.timers("fleet-registry");
  }

  /**
   * Starts keeping {@code record} as this host's record; returns at once, the first write happens
   * in the background (and is retried until etcd answers).
   */
  public static HostRegistry join(Fleet fleet, String record) {
    HostRegistry registry = new HostRegistry(fleet, record);
    registry.worker.execute(registry::register);
    return registry;
  }

  /** The record's key, e.g. {@code /buildhost/lab/hosts/build-7}. */
  public String key() {
    return fleet.settings().keyPrefix() + HOSTS + host;
  }

  /** Replaces the host's record; written in the background, in the order of the calls. */
  public void update(String newRecord) {
    worker.execute(
        () -> {
          record = newRecord;
          if (leaseId != 0) {
            put();
          }
        });
  }

  /**
   * A host's record as read from etcd.
   *
   * @param host the host's name
   * @param record the record as its daemon wrote it
   * @param revision etcd's revision of the record's last write
   */
  public record Registered(String host, String record, long revision) {}

  /**
   * Every host's record in the fleet, by host name.
   *
   * @throws FleetException when etcd does not answer
   */
  public static List<Registered> hosts(Fleet fleet) {
    List<KeyValue> kvs =
        fleet
            .await(
                fleet
                    .client()
                    .getKVClient()
                    .get(
                        fleet.key(HOSTS),
                        GetOption.builder()
                            .isPrefix(true)
                            .withSortField(GetOption.SortTarget.KEY)
                            .build()),
                "read the hosts' records")
            .getKvs();
    return kvs.stream()
        .map(
            kv ->
                new Registered(
                    fleet.relative(kv.getKey()).substring(HOSTS.length()),
                    kv.getValue().toString(StandardCharsets.UTF_8),
                    kv.getModRevision()))
        .toList();
  }

  /** A new lease, the record on it, and its keep-alive. */
  private void register() {
    if (closed) {
      return;
    }
    stopKeepAlive();
    leaseId = 0;
    try {
      long id =
          fleet
              .await(
                  fleet.client().getLeaseClient().grant(fleet.settings().leaseTtl().toSeconds()),
                  "grant the host's lease")
              .getID();
      leaseId = id;
      keepAlive = fleet.client().getLeaseClient().keepAlive(id, new KeepAliveObserver(id));
      put();
      if (leaseId == id) {
        log.info(
            "fleet: {} registered as {} (lease {} of {} s) on {}",
            host,
            key(),
            Long.toHexString(id),
            fleet.settings().leaseTtl().toSeconds(),
            fleet.endpointsText());
        reportedDown = false;
        retry = FIRST_RETRY;
      }
    } catch (FleetException e) {
      failed("cannot register " + key(), e);
    }
  }

  private void put() {
    long id = leaseId;
    try {
      fleet.await(
          fleet
              .client()
              .getKVClient()
              .put(
                  fleet.key(HOSTS + host),
                  Fleet.bytes(record),
                  PutOption.builder().withLeaseId(id).build()),
          "write the record of " + host);
    } catch (FleetException e) {
      failed("cannot write " + key(), e);
    }
  }

  /** Logs once per outage, then registers again from a new lease after a growing pause. */
  private void failed(String what, RuntimeException e) {
    if (closed) {
      return;
    }
    if (!reportedDown) {
      log.warn("fleet: {}: {}; retrying until etcd answers", what, e.getMessage());
      reportedDown = true;
    } else {
      log.debug("fleet: {}: {}", what, e.getMessage());
    }
    stopKeepAlive();
    leaseId = 0;
    if (!retryScheduled) {
      retryScheduled = true;
      Duration pause = retry;
      retry = retry.multipliedBy(2).compareTo(LAST_RETRY) > 0 ? LAST_RETRY : retry.multipliedBy(2);
      ScheduledFuture<?> unused =
          worker.schedule(
              () -> {
                retryScheduled = false;
                register();
              },
              pause.toMillis(),
              TimeUnit.MILLISECONDS);
    }
  }

  private void stopKeepAlive() {
    if (keepAlive != null) {
      keepAlive.close();
      keepAlive = null;
    }
  }

  /** Reports on a lease's keep-alive; runs on jetcd's threads, acts on the worker. */
  private final class KeepAliveObserver implements StreamObserver<LeaseKeepAliveResponse> {
    private final long id;

    KeepAliveObserver(long id) {
      this.id = id;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
      if (response.getTTL() <= 0) {
        lost(new FleetException("lease " + Long.toHexString(id) + " expired"));
      }
    }

    @Override
    public void onError(Throwable error) {
      lost(
          error instanceof FleetException f
              ? f
              : new FleetException("keep-alive failed: " + error.getMessage(), error));
    }

    @Override
    public void onCompleted() {
      lost(new FleetException("keep-alive of lease " + Long.toHexString(id) + " ended"));
    }

    private void lost(FleetException e) {
      try {
        worker.execute(
            () -> {
              if (leaseId == id) {
                failed("lost the lease of " + key(), e);
              }
            });
      } catch (RejectedExecutionException closing) {
        // the registry is closed: nothing to keep
      }
    }
  }

  /** Stops the keep-alive and revokes the lease: the record is deleted at once. */
  @Override
  public void close() {
    try {
      worker
          .submit(
              () -> {
                closed = true;
                stopKeepAlive();
                if (leaseId != 0) {
                  try {
                    fleet.await(
                        fleet.client().getLeaseClient().revoke(leaseId), "revoke the host's lease");
                    log.info("fleet: {} left the fleet ({} deleted)", host, key());
                  } catch (FleetException e) {
                    log.warn(
                        "fleet: {}; the record goes when its lease runs out ({} s)",
                        e.getMessage(),
                        fleet.settings().leaseTtl().toSeconds());
                  }
                }
              })
          .get(fleet.settings().requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("fleet: leaving the fleet failed: {}", e.toString());
    } finally {
      worker.shutdownNow();
    }
  }
}
