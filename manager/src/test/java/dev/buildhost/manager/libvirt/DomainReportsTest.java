package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.instance.VirtualTime;
import dev.buildhost.manager.model.EndReason;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.libvirt.Domain;

/** The guests' reports on libvirt's mock driver {@code test:///default}. */
class DomainReportsTest {
  private static final String NAME = "buildhost-vm-20260101-000000-0201";

  private final List<String> heard = new CopyOnWriteArrayList<>();
  private final GuestListener listener = LibvirtTestConfig.recorder(heard);
  private final DomainReports reports = new DomainReports();
  private final LibvirtConnection connection =
      new LibvirtConnection(
          "test:///default",
          reports::onLifecycle,
          reports::catchUp,
          new VirtualTime(Instant.EPOCH).scheduler());

  @AfterEach
  void close() {
    connection.close();
    reports.close();
  }

  @Test
  void aCatchUpDuringTheCreationOfADomainDoesNotTakeItForEnded() throws Exception {
    reports.creating(NAME, listener);
    reports.catchUp(connection); // the domain does not exist yet
    Domain domain =
        connection
            .get()
            .domainCreateXML(
                "<domain type='test'><name>"
                    + NAME
                    + "</name><memory>1024</memory><os><type>hvm</type></os></domain>",
                0);
    reports.created(NAME);
    domain.shutdown();
    LibvirtConnection.free(domain);

    // Had the catch-up reported the guest ended (CRASHED), its POWEROFF would not be passed on.
    Awaitility.await("the guest's end; heard " + heard)
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> heard.equals(List.of("stopped " + EndReason.POWEROFF)));
  }
}
