package dev.buildhost.manager.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.client.DaemonEndpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The training run of the CLI's class-data-sharing archive: {@code scripts/cds-archive} runs it
 * under {@code -XX:ArchiveClassesAtExit}, so that the archive holds, parsed and verified, the
 * classes a client verb loads (picocli, Jackson, the API client, HttpURLConnection). It runs the
 * verbs bench/cli measures against a stand-in daemon on 127.0.0.1 that answers with fixed JSON, so
 * that no daemon has to run at build time. A verb run with the archive then maps those classes
 * instead of loading them from the jars.
 */
public final class CdsTraining {

  private static final String INSTANCE =
      "{\"id\":\"sample-1\",\"machine\":\"sample\",\"revision\":\"1.0\",\"type\":\"DOCKER\","
          + "\"state\":\"STOPPED\",\"endReason\":\"POWEROFF\",\"exitCode\":0,\"tftpPort\":10000,"
          + "\"createdAt\":\"2026-01-01T12:00:00Z\",\"runningAt\":\"2026-01-01T12:00:01Z\","
          + "\"stoppedAt\":\"2026-01-01T12:00:02Z\",\"message\":null}";
  private static final String FILE =
      "{\"name\":\"result.manifest\",\"size\":12,\"modified\":\"2026-01-01T12:00:02Z\"}";
  private static final String MACHINE =
      "{\"name\":\"sample\",\"type\":\"DOCKER\",\"inService\":\"1.0\",\"problems\":[],"
          + "\"revisions\":[{\"version\":\"1.0\",\"dir\":\"sample-1.0\",\"inService\":true,"
          + "\"manifest\":null}]}";

  /**
   * The runs, as bench/cli times them; a state folder option is appended to the client verbs. Not
   * {@code --help}: it lists every verb, so bin/buildhost runs it from the full jar, without the
   * archive (the cli jar lacks the daemon's libraries its verbs' options name).
   */
  private static final List<List<String>> RUNS =
      List.of(
          List.of("--version"),
          List.of("instances"),
          List.of("instances", "--json"),
          List.of("status", "sample-1"),
          List.of("list"),
          List.of("show", "sample-1"),
          List.of("status", "missing"));

  private CdsTraining() {}

  public static void main(String[] args) throws IOException {
    HttpServer daemon =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    daemon.createContext("/", CdsTraining::answer);
    daemon.start();
    Path state = Files.createTempDirectory("buildhost-cds-training");
    Path endpoint = state.resolve(DaemonEndpoint.ENDPOINT_FILE);
    Path token = state.resolve(DaemonEndpoint.TOKEN_FILE);
    try {
      Files.writeString(
          endpoint,
          "{\"url\":\"http://127.0.0.1:" + daemon.getAddress().getPort() + "/\"}",
          StandardCharsets.UTF_8);
      Files.writeString(token, "training", StandardCharsets.UTF_8);
      for (List<String> run : RUNS) {
        String[] verbArgs =
            run.get(0).startsWith("-")
                ? run.toArray(String[]::new)
                : concat(run, List.of("--state-dir", state.toString()));
        // The output goes nowhere: the run is for the classes it loads.
        PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
        BuildhostCommand.commandLine(verbArgs).setOut(nowhere).setErr(nowhere).execute(verbArgs);
      }
    } finally {
      daemon.stop(0);
      Files.deleteIfExists(endpoint);
      Files.deleteIfExists(token);
      Files.deleteIfExists(state);
    }
  }

  private static String[] concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toArray(String[]::new);
  }

  private static void answer(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    int status = 200;
    String body;
    if (path.equals("/v1/instances")) {
      body = "[" + INSTANCE + "]";
    } else if (path.equals("/v1/instances/sample-1")) {
      body = INSTANCE;
    } else if (path.equals("/v1/instances/sample-1/files")) {
      body = "[" + FILE + "]";
    } else if (path.equals("/v1/machines")) {
      body = "[" + MACHINE + "]";
    } else {
      status = 404;
      body = "{\"error\":\"no such instance\",\"hint\":\"list them with buildhost instances\"}";
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
