package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.common.time.Durations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ParameterException;

/**
 * What {@code buildhost start} and {@code buildhost bootstrap} share: the files to put, the time
 * limit and, with {@code --wait}, following the instance to its end and exiting with the worker's
 * status.
 */
abstract class InstanceStartCommand extends ClientCommand {

  /** How often a waiting start looks at the instance when the event stream is gone. */
  private static final Duration POLL = Duration.ofSeconds(1);

  /** The longest a wait lasts after the instance's own time limit should have ended it. */
  private static final Duration WAIT_MARGIN = Duration.ofMinutes(2);

  boolean wait;
  String timeout;
  List<String> puts = List.of();
  String toolchain;

  InstanceStartCommand(String name) {
    super(name);
    flag("--wait", "wait for the instance to end; exit with the worker's status", v -> wait = v);
    option(
        "--timeout",
        "DURATION",
        "the instance's time limit, e.g. 90s, 30m, 2h (default: the daemon's default-timeout)",
        v -> timeout = v);
    repeatable(
        new String[] {"--put"},
        "NAME=FILE",
        "put FILE into the instance folder as NAME before the guest starts (repeatable)",
        v -> puts = v);
    option(
        "--toolchain",
        "NAME",
        "the toolchain (default: the host's only one; `buildhost host` lists them)",
        v -> toolchain = v);
  }

  /** Starts the instance as the verb asks. */
  abstract InstanceView launch(ApiClient client, Long timeoutSeconds, Map<String, String> files);

  /**
   * Whether the instance did what the verb asked, once it stopped; the worker's result is known.
   */
  boolean succeeded(ApiClient client, InstanceView instance, boolean workerSucceeded) {
    return workerSucceeded;
  }

  @Override
  int run(ApiClient client) throws Exception {
    Map<String, String> files = files();
    if (!wait) {
      InstanceView instance = launch(client, timeoutSeconds(), files);
      if (json()) {
        printJson(instance);
      } else {
        out().println(instance.id());
        out().flush();
      }
      return ExitCode.OK;
    }
    InstanceView instance;
    // Subscribed before the start, so no event of the new instance can be missed.
    try (ApiClient.Events events = client.events(null)) {
      instance = launch(client, timeoutSeconds(), files);
      if (!json()) {
        out()
            .printf(
                "%s  started %s (%s %s, TFTP port %d)%n",
                Format.clock(instance.createdAt()),
                instance.id(),
                instance.machine(),
                instance.revision(),
                instance.tftpPort());
        out().flush();
      }
      instance = follow(client, events, instance);
    }
    return finish(client, instance);
  }

  /** Prints the instance's events until it has stopped; polls when the stream breaks off. */
  private InstanceView follow(ApiClient client, ApiClient.Events events, InstanceView instance)
      throws Exception {
    String id = instance.id();
    // Even an instance that stopped before start() answered has its events in the stream.
    while (events.hasNext()) {
      InstanceEventView event = events.next();
      if (event.instance() == null || !id.equals(event.instance().id())) {
        continue;
      }
      instance = event.instance();
      if (!json() && event.kind() != InstanceEventView.Kind.CREATED) {
        out().println(EventsCommand.line(event));
        out().flush();
      }
      if (event.kind() == InstanceEventView.Kind.STOPPED) {
        return instance;
      }
    }
    Instant deadline =
        Instant.now()
            .plus(
                timeoutSeconds() == null
                    ? Duration.ofDays(1)
                    : Duration.ofSeconds(timeoutSeconds()))
            .plus(WAIT_MARGIN);
    while (instance.state() != InstanceView.State.STOPPED) {
      if (Instant.now().isAfter(deadline)) {
        throw new ApiClientException(
            ApiClientException.UNREACHABLE,
            "instance " + id + " did not stop within its time limit",
            "see `buildhost status " + id + "` and the daemon's log");
      }
      Thread.sleep(POLL.toMillis());
      instance = client.instance(id);
    }
    return instance;
  }

  /** Prints the result; the exit code says whether the worker succeeded. */
  private int finish(ApiClient client, InstanceView instance) throws Exception {
    WorkerResult result = result(client, instance.id());
    boolean ok =
        succeeded(
            client,
            instance,
            result != null
                ? result.succeeded()
                : instance.exitCode() != null && instance.exitCode() == 0);
    if (json()) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("instance", instance);
      out.put("result", result);
      out.put("succeeded", ok);
      printJson(out);
    } else {
      String what =
          result != null
              ? "worker " + result.status() + ", exit code " + result.exitCode()
              : "no result.manifest"
                  + (instance.exitCode() == null
                      ? ""
                      : "; container exit code " + instance.exitCode());
      out()
          .printf(
              "%s  %s: %s after %s (%s)%n",
              Format.clock(instance.stoppedAt()),
              instance.id(),
              what,
              Format.runtime(instance),
              Format.state(instance));
      if (instance.message() != null) {
        out().printf("  %s%n", instance.message());
      }
      out().flush();
    }
    return ok ? ExitCode.OK : ExitCode.FAILED;
  }

  /** The worker's result.manifest, or null when it uploaded none. */
  private static WorkerResult result(ApiClient client, String id) throws IOException {
    try (InputStream in = client.openFile(id, "result.manifest")) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      in.transferTo(bytes);
      return WorkerResult.parse(bytes.toString(StandardCharsets.UTF_8));
    } catch (ApiClientException e) {
      if (e.status() == 404) {
        return null;
      }
      throw e;
    }
  }

  Long timeoutSeconds() {
    if (timeout == null) {
      return null;
    }
    try {
      return Math.max(1, Durations.parsePositive(timeout).toSeconds());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--timeout: " + e.getMessage());
    }
  }

  private Map<String, String> files() throws IOException {
    Map<String, String> files = new LinkedHashMap<>();
    for (String put : puts) {
      int eq = put.indexOf('=');
      if (eq <= 0 || eq == put.length() - 1) {
        throw new ParameterException(spec.commandLine(), "--put " + put + ": expected NAME=FILE");
      }
      Path file = Path.of(put.substring(eq + 1));
      if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
        throw new ParameterException(
            spec.commandLine(), "--put " + put + ": " + file + " is not a readable file");
      }
      files.put(put.substring(0, eq), Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
    }
    return files;
  }
}
