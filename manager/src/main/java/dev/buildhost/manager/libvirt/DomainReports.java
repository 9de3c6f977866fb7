package dev.buildhost.manager.libvirt;

import static dev.buildhost.manager.libvirt.LibvirtConnection.free;
import static dev.buildhost.manager.libvirt.LibvirtConnection.message;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.model.EndReason;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.StoppedDetail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reports of the guests the libvirt backend launched or adopted, by domain name. libvirt's
 * lifecycle events reach them here; after a reconnect, so do the ends that no event told.
 */
final class DomainReports implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DomainReports.class);

  private final Map<String, GuestReports> byDomain = new ConcurrentHashMap<>();

  /**
   * Domains libvirt is creating. Their reports are registered first, so that no event is missed,
   * but the domain may not exist yet: a catch-up must not take its absence for an end.
   */
  private final Set<String> beingCreated = ConcurrentHashMap.newKeySet();

  /** Runs the guests' reports off libvirt's event loop, which must not wait for the lifecycle. */
  private final ExecutorService reportThreads =
      Executors.newCachedThreadPool(Threads.daemonFactory("libvirt-reports"));

  /**
   * The reports of a domain about to be created; {@link #created} follows once libvirt created it,
   * {@link #forget} if it could not.
   */
  GuestReports creating(String name, GuestListener listener) {
    GuestReports reports = GuestReports.forLaunch(listener, reportThreads);
    beingCreated.add(name);
    byDomain.put(name, reports);
    return reports;
  }

  void created(String name) {
    beingCreated.remove(name);
  }

  /** Reports for a domain that runs already. */
  void adopted(String name, GuestListener listener) {
    byDomain.put(name, new GuestReports(listener, reportThreads));
  }

  /** No more reports for that domain. */
  void forget(String name) {
    byDomain.remove(name);
    beingCreated.remove(name);
  }

  /** libvirt's lifecycle listener: runs on its event loop thread. */
  int onLifecycle(Domain domain, DomainEvent event) {
    try {
      String name = domain.getName();
      DomainEventType type = event.getType();
      if (type == DomainEventType.STARTED) {
        GuestReports reports = byDomain.get(name);
        if (reports != null) {
          reports.running();
        }
      } else if (type == DomainEventType.STOPPED) {
        Object detail = event.getDetail();
        GuestReports reports = byDomain.remove(name);
        if (reports != null) {
          LOG.debug("domain {} stopped ({})", name, detail);
          reports.stopped(
              detail == StoppedDetail.SHUTDOWN ? EndReason.POWEROFF : EndReason.CRASHED, null);
        }
      }
    } catch (LibvirtException | RuntimeException e) {
      LOG.error("cannot handle libvirt event {}: {}", event, e.getMessage(), e);
    }
    return 0;
  }

  /**
   * Reports the end of the guests whose domain ended while no connection could tell: the catch-up
   * after a reconnect.
   */
  // byDomain is a ConcurrentHashMap: removing while iterating its key set is safe.
  @SuppressWarnings("ModifyCollectionInEnhancedForLoop")
  void catchUp(LibvirtConnection connection) throws BackendException {
    for (String name : byDomain.keySet()) {
      if (beingCreated.contains(name)) {
        continue;
      }
      boolean running;
      try {
        Domain domain = connection.lookup(name);
        try {
          running = domain != null && domain.isActive() == 1;
        } finally {
          free(domain);
        }
      } catch (LibvirtException e) {
        throw new BackendException("cannot look up domain " + name + ": " + message(e), e);
      }
      GuestReports reports = running ? null : byDomain.remove(name);
      if (reports != null) {
        LOG.warn("domain {} ended while the connection to libvirtd was down", name);
        reports.stopped(EndReason.CRASHED, null);
      }
    }
    LOG.info(
        "reconnected to libvirtd at {}; {} domain(s) of ours run on",
        connection.uri(),
        byDomain.size());
  }

  @Override
  public void close() {
    reportThreads.shutdown();
  }
}
