package dev.buildhost.manager.api;

import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.tftp.server.TransferEvent;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The daemon's counters, rendered in the Prometheus text exposition format (version 0.0.4).
 * Counters are fed by instance events, TFTP transfer events and API answers; the instance gauge is
 * computed from the manager's list at scrape time.
 */
public final class Metrics {

  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final LongAdder starts = new LongAdder();
  private final Map<String, LongAdder> startFailures = new ConcurrentSkipListMap<>();
  private final Map<String, LongAdder> stops = new ConcurrentSkipListMap<>();
  private final LongAdder instanceFailures = new LongAdder();
  private final LongAdder uploads = new LongAdder();
  private final Map<String, LongAdder> tftpTransfers = new ConcurrentSkipListMap<>();
  private final Map<String, LongAdder> tftpBytes = new ConcurrentSkipListMap<>();
  private final Map<Integer, LongAdder> apiAnswers = new ConcurrentSkipListMap<>();

  /** Counts a lifecycle event. */
  public void onEvent(InstanceEvent event) {
    switch (event.kind()) {
      case CREATED -> starts.increment();
      case FAILED -> instanceFailures.increment();
      case FILE_UPLOADED -> uploads.increment();
      case STOPPED -> {
        Instance instance = event.instance();
        String reason = instance.endReason() == null ? "UNKNOWN" : instance.endReason().name();
        count(stops, reason);
      }
      default -> {}
    }
  }

  /** Counts a start request the manager refused (by ManagerException kind). */
  public void onStartRefused(String kind) {
    count(startFailures, kind);
  }

  /** Counts a transfer of the read-only TFTP server. */
  public void onTransfer(TransferEvent event) {
    if (event.kind() == TransferEvent.Kind.REQUESTED) {
      return;
    }
    String direction = event.upload() ? "upload" : "download";
    String outcome = event.kind() == TransferEvent.Kind.COMPLETED ? "completed" : "failed";
    count(tftpTransfers, "direction=\"" + direction + "\",outcome=\"" + outcome + "\"");
    tftpBytes
        .computeIfAbsent("direction=\"" + direction + "\"", k -> new LongAdder())
        .add(event.bytes());
  }

  public void onAnswer(int status) {
    apiAnswers.computeIfAbsent(status, k -> new LongAdder()).increment();
  }

  /** The exposition text, with the gauges computed from what is passed. */
  public String render(
      List<Instance> instances, boolean draining, int eventStreams, JournalHealth journal) {
    Map<InstanceState, Integer> byState = new EnumMap<>(InstanceState.class);
    for (InstanceState state : InstanceState.values()) {
      byState.put(state, 0);
    }
    for (Instance instance : instances) {
      byState.merge(instance.state(), 1, Integer::sum);
    }
    StringBuilder out = new StringBuilder();
    header(out, "buildhost_instances", "gauge", "Instances the manager knows, by state.");
    byState.forEach((state, n) -> sample(out, "buildhost_instances", "state=\"" + state + "\"", n));
    header(out, "buildhost_instance_starts_total", "counter", "Instances created.");
    sample(out, "buildhost_instance_starts_total", null, starts.sum());
    header(
        out,
        "buildhost_instance_start_failures_total",
        "counter",
        "Start requests the manager refused, by reason.");
    startFailures.forEach(
        (kind, n) ->
            sample(
                out,
                "buildhost_instance_start_failures_total",
                "reason=\"" + kind + "\"",
                n.sum()));
    header(out, "buildhost_instance_failures_total", "counter", "Instances that failed.");
    sample(out, "buildhost_instance_failures_total", null, instanceFailures.sum());
    header(
        out, "buildhost_instance_stops_total", "counter", "Instances that stopped, by end reason.");
    stops.forEach(
        (reason, n) ->
            sample(out, "buildhost_instance_stops_total", "reason=\"" + reason + "\"", n.sum()));
    header(
        out,
        "buildhost_instance_uploads_total",
        "counter",
        "Files instances uploaded through their TFTP ports.");
    sample(out, "buildhost_instance_uploads_total", null, uploads.sum());
    header(
        out,
        "buildhost_tftp_transfers_total",
        "counter",
        "Transfers of the read-only TFTP server, by direction and outcome.");
    tftpTransfers.forEach(
        (labels, n) -> sample(out, "buildhost_tftp_transfers_total", labels, n.sum()));
    header(out, "buildhost_tftp_bytes_total", "counter", "Bytes the read-only TFTP server moved.");
    tftpBytes.forEach((labels, n) -> sample(out, "buildhost_tftp_bytes_total", labels, n.sum()));
    header(out, "buildhost_api_responses_total", "counter", "API answers, by HTTP status.");
    apiAnswers.forEach(
        (status, n) ->
            sample(out, "buildhost_api_responses_total", "status=\"" + status + "\"", n.sum()));
    header(out, "buildhost_draining", "gauge", "1 while the host drains (new starts refused).");
    sample(out, "buildhost_draining", null, draining ? 1 : 0);
    header(out, "buildhost_event_streams", "gauge", "Clients following GET /v1/events.");
    sample(out, "buildhost_event_streams", null, eventStreams);
    header(
        out,
        "buildhost_journal_unwritten_records",
        "gauge",
        "Instances whose end is not in their journal record yet (the write is retried).");
    sample(out, "buildhost_journal_unwritten_records", null, journal.unwrittenRecords());
    header(
        out,
        "buildhost_journal_write_failures_total",
        "counter",
        "Journal writes that failed (a full or failing disk).");
    sample(out, "buildhost_journal_write_failures_total", null, journal.failedWrites());
    return out.toString();
  }

  private static void count(Map<String, LongAdder> counters, String key) {
    counters.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** The gauges of bootstrapped states, computed at scrape time. */
  public static String renderBootstrapped(int states, int stale, long diskBytes) {
    StringBuilder out = new StringBuilder();
    header(out, "buildhost_bootstrapped_states", "gauge", "Bootstrapped states kept, by status.");
    sample(out, "buildhost_bootstrapped_states", "status=\"current\"", states - stale);
    sample(out, "buildhost_bootstrapped_states", "status=\"stale\"", stale);
    header(
        out,
        "buildhost_bootstrapped_disk_bytes",
        "gauge",
        "Disk used by bootstrapped states (VM layers, results, and the size of committed images).");
    sample(out, "buildhost_bootstrapped_disk_bytes", null, diskBytes);
    return out.toString();
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void sample(StringBuilder out, String name, String labels, long value) {
    out.append(name);
    if (labels != null) {
      out.append('{').append(labels).append('}');
    }
    out.append(' ').append(value).append('\n');
  }
}
