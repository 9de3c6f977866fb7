package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.tftp.server.TransferEvent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {

  static Instance instance(InstanceState state, EndReason reason) {
    return new Instance(
        "i",
        "m",
        "1.0",
        MachineType.KVM,
        state,
        reason,
        null,
        10000,
        Instant.EPOCH,
        null,
        null,
        null);
  }

  @Test
  void countersAndGaugesRenderInTheTextFormat() {
    Metrics metrics = new Metrics();
    metrics.onEvent(
        new InstanceEvent(
            InstanceEvent.Kind.CREATED,
            Instant.EPOCH,
            instance(InstanceState.STARTING, null),
            null));
    metrics.onEvent(
        new InstanceEvent(
            InstanceEvent.Kind.STOPPED,
            Instant.EPOCH,
            instance(InstanceState.STOPPED, EndReason.TIMEOUT),
            null));
    metrics.onStartRefused("NO_CAPACITY");
    InetSocketAddress peer = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    metrics.onTransfer(
        new TransferEvent(TransferEvent.Kind.REQUESTED, peer, "f", false, 0, Duration.ZERO, null));
    metrics.onTransfer(
        new TransferEvent(
            TransferEvent.Kind.COMPLETED, peer, "f", false, 1234, Duration.ZERO, null));
    metrics.onTransfer(
        new TransferEvent(
            TransferEvent.Kind.FAILED, peer, "f", false, 10, Duration.ZERO, "timeout"));
    metrics.onAnswer(200);
    String text =
        metrics.render(
            List.of(instance(InstanceState.RUNNING, null), instance(InstanceState.RUNNING, null)),
            true,
            3,
            new JournalHealth(
                1, 4, "cannot write the journal record: No space left", Instant.EPOCH));
    for (String line :
        List.of(
            "# TYPE buildhost_instances gauge",
            "buildhost_instances{state=\"RUNNING\"} 2",
            "buildhost_instances{state=\"STOPPED\"} 0",
            "buildhost_instance_starts_total 1",
            "buildhost_instance_stops_total{reason=\"TIMEOUT\"} 1",
            "buildhost_instance_start_failures_total{reason=\"NO_CAPACITY\"} 1",
            "buildhost_tftp_transfers_total{direction=\"download\",outcome=\"completed\"} 1",
            "buildhost_tftp_transfers_total{direction=\"download\",outcome=\"failed\"} 1",
            "buildhost_tftp_bytes_total{direction=\"download\"} 1244",
            "buildhost_api_responses_total{status=\"200\"} 1",
            "buildhost_draining 1",
            "buildhost_event_streams 3",
            "# TYPE buildhost_journal_unwritten_records gauge",
            "buildhost_journal_unwritten_records 1",
            "# TYPE buildhost_journal_write_failures_total counter",
            "buildhost_journal_write_failures_total 4")) {
      assertTrue(text.lines().anyMatch(line::equals), "missing '" + line + "' in\n" + text);
    }
    assertTrue(text.endsWith("\n"));
  }
}
