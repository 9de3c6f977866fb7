import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * bench/container-start, the Java side (run by the script, in one JVM so it is warm): the time from
 * InstanceManager.start() to the instance's RUNNING event, against the wall time of `docker run -d`
 * of the same image with the same limits, each the median of RUNS runs after WARMUP warm-up runs.
 * Like an agent's starts one after another, each start after the first finds the container the
 * manager prepared while the previous instance ran; the table says whether it took it. Arguments:
 * MACHINES_DIR MACHINE.
 */
public class ContainerStartBench {

  static final int WARMUP = 3;
  static final int RUNS = 5;

  public static void main(String[] args) throws Exception {
    Path machinesDir = Path.of(args[0]);
    String machine = args[1];
    Path root = Files.createTempDirectory("buildhost-bench-container-start");
    ManagerConfig defaults = ManagerConfig.defaults(root);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            24100,
            24199,
            4,
            16384,
            Duration.ofMinutes(5),
            Duration.ofSeconds(5),
            Acceleration.TCG,
            defaults.libvirtUri(),
            defaults.dockerHost(),
            "host");
    MachineLibrary library = new MachineLibrary(machinesDir);
    Revision revision = library.inService(machine);
    List<double[]> rows;
    try (InstanceManager manager =
        InstanceManager.open(config, library, List.of(new DockerBackend(config)))) {
      rows = measure(manager, machine, revision);
    } finally {
      deleteTree(root);
    }
    print(machine, revision, rows);
  }

  /**
   * Warm-ups, then RUNS measured pairs: {start() returned, RUNNING event, docker run -d} in ms, and
   * 1 when the start took the prepared container, else 0.
   */
  static List<double[]> measure(InstanceManager manager, String machine, Revision revision)
      throws Exception {
    Map<String, CompletableFuture<Void>> running = new ConcurrentHashMap<>();
    manager.subscribe(
        event -> {
          if (event.kind() == InstanceEvent.Kind.RUNNING) {
            running
                .computeIfAbsent(event.instance().id(), id -> new CompletableFuture<>())
                .complete(null);
          }
        });
    List<double[]> rows = new ArrayList<>();
    String image = "buildhost/" + machine + ":" + revision.version();
    // The first start also loads the image; the warm-ups run both paths until the JVM is warm.
    for (int i = 0; i < WARMUP + RUNS; i++) {
      // Alternate which goes first, so neither always runs right after the other's clean-up.
      double[] api;
      double docker;
      if (i % 2 == 0) {
        api = apiStart(manager, machine, running);
        docker = dockerRun(image, revision.manifest());
      } else {
        docker = dockerRun(image, revision.manifest());
        api = apiStart(manager, machine, running);
      }
      if (i >= WARMUP) {
        rows.add(new double[] {api[0], api[1], docker, api[2]});
      }
    }
    return rows;
  }

  static void print(String machine, Revision revision, List<double[]> rows) {
    System.out.printf(
        Locale.ROOT,
        "container-start: %s %s, median of %d runs after %d warm-ups%n",
        machine,
        revision.version(),
        RUNS,
        WARMUP);
    System.out.println(
        "run  start()-returned-ms  start()-to-RUNNING-event-ms  docker-run-d-ms  prepared-container");
    for (int i = 0; i < rows.size(); i++) {
      System.out.printf(
          Locale.ROOT,
          "%3d  %19.1f  %27.1f  %15.1f  %18s%n",
          i + 1,
          rows.get(i)[0],
          rows.get(i)[1],
          rows.get(i)[2],
          rows.get(i)[3] == 1 ? "taken" : "none");
    }
    double returned = median(rows, 0);
    double api = median(rows, 1);
    double docker = median(rows, 2);
    System.out.printf(
        Locale.ROOT,
        "median: start() returned %.1f ms, RUNNING event %.1f ms, docker run -d %.1f ms%n",
        returned,
        api,
        docker);
    System.out.printf(
        Locale.ROOT,
        "ratio api (to RUNNING event) / docker run -d: %.2f (target <= 1.0)%n",
        api / docker);
  }

  /**
   * Milliseconds from start() to its return (the engine started the container) and to the RUNNING
   * event, and 1 if the instance got the container prepared for it, else 0; the instance is
   * terminated, awaited and deleted afterwards.
   */
  static double[] apiStart(
      InstanceManager manager, String machine, Map<String, CompletableFuture<Void>> running)
      throws Exception {
    byte[] task = ": 1\ncommand: sleep 30\n".getBytes(StandardCharsets.UTF_8);
    String prepared =
        run(
            "docker",
            "ps",
            "-a",
            "--filter",
            "label=dev.buildhost.machine=" + machine,
            "--filter",
            "status=created",
            "--format",
            "{{.Names}}");
    long t0 = System.nanoTime();
    Instance instance =
        manager.start(new StartRequest(machine, null, Map.of("task.manifest", task)));
    double returned = (System.nanoTime() - t0) / 1e6;
    running
        .computeIfAbsent(instance.id(), id -> new CompletableFuture<>())
        .get(60, TimeUnit.SECONDS);
    double ms = (System.nanoTime() - t0) / 1e6;
    boolean tookPrepared = prepared.equals(DockerBackend.containerName(instance.id()));
    manager.terminate(instance.id());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (manager.get(instance.id()).state() != InstanceState.STOPPED) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("instance " + instance.id() + " did not stop");
      }
      Thread.sleep(20);
    }
    manager.delete(instance.id());
    return new double[] {returned, ms, tookPrepared ? 1 : 0};
  }

  /** `docker run -d` with the limits the backend sets; the container is removed afterwards. */
  static double dockerRun(String image, Manifest manifest)
      throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                "docker",
                "run",
                "-d",
                "--init",
                "--network",
                "host",
                "--log-driver",
                "json-file",
                "-e",
                "BUILDHOST_TFTP=127.0.0.1:9"));
    Long ram =
        manifest.ramMaximumMib() != null ? manifest.ramMaximumMib() : manifest.ramMinimumMib();
    if (ram != null) {
      command.addAll(List.of("--memory", ram + "m", "--memory-swap", ram + "m"));
    }
    if (manifest.cpus() != null) {
      command.addAll(List.of("--cpus", String.valueOf(manifest.cpus())));
    }
    command.add(image);
    command.addAll(List.of(manifest.command().split(" ")));
    long t0 = System.nanoTime();
    Process run = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!run.waitFor(60, TimeUnit.SECONDS) || run.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
    double ms = (System.nanoTime() - t0) / 1e6;
    run("docker", "rm", "-f", output);
    return ms;
  }

  /** Runs a command to its end and returns its output, stripped. */
  static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output =
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    process.waitFor(60, TimeUnit.SECONDS);
    return output;
  }

  static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }

  static double median(List<double[]> rows, int column) {
    List<Double> values =
        rows.stream().map(row -> row[column]).sorted(Comparator.naturalOrder()).toList();
    return values.get(values.size() / 2);
  }
}
