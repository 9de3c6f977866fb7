package dev.buildhost.manager.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.buildhost.common.threads.Threads;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.HostRegistry;
import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.api.Json;
import dev.buildhost.manager.instance.InstanceManager;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's membership of its fleet: its host record, written when it joins and again after
 * every instance event and host change (a burst of changes makes one write), deleted when it
 * leaves.
 */
final class FleetMember implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FleetMember.class);

  private final ApiServer api;
  private final String host;
  private final HostRegistry registry;
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(Threads.daemonFactory("fleet-record"));
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AutoCloseable subscription;

  private FleetMember(Fleet fleet, ApiServer api, InstanceManager manager) {
    this.api = api;
    this.host = fleet.settings().host();
    this.registry = HostRegistry.join(fleet, record());
    this.subscription = manager.subscribe(event -> changed());
    api.onHostChange(this::changed);
  }

  static FleetMember join(Fleet fleet, ApiServer api, InstanceManager manager) {
    return new FleetMember(fleet, api, manager);
  }

  /** Writes the record again soon; changes that come meanwhile are in the same write. */
  private void changed() {
    if (pending.compareAndSet(false, true)) {
      try {
        writer.execute(
            () -> {
              pending.set(false);
              registry.update(record());
            });
      } catch (RejectedExecutionException e) {
        // leaving the fleet: the record goes
      }
    }
  }

  private String record() {
    try {
      return Json.MAPPER.writeValueAsString(api.fleetRecord(host));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the host record as JSON", e);
    }
  }

  @Override
  public void close() {
    try {
      subscription.close();
    } catch (Exception e) {
      log.warn("fleet: unsubscribing from the instance events failed: {}", e.toString());
    }
    writer.shutdownNow();
    registry.close();
  }
}
