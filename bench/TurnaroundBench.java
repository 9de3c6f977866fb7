import dev.buildhost.client.ApiClient;
import dev.buildhost.client.DaemonEndpoint;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * bench/turnaround, the Java side: an agent's loop through the HTTP API of a running daemon (the
 * API client of the api-client module, one warm JVM): POST the start with the task, wait for the
 * instance's STOPPED event on the event stream, GET result.manifest, DELETE. (1) CONTAINER_TASKS
 * container tasks back to back against as many `docker run --rm` of the same image running the same
 * command; (2) VM_TASKS VM tasks at once against as many `virsh create` at once of the same domain
 * XML (overlay and TFTP server made beforehand, untimed) whose guest does the same work: the worker
 * fetches the task from a writable TFTP server (`buildhost tftp`), runs it, uploads the result and
 * powers off. Arguments: STATE_DIR MACHINES_DIR CONTAINER_MACHINE VM_MACHINE LIBVIRT_URI JAR.
 */
public class TurnaroundBench {
  static final int CONTAINER_TASKS = 50;
  static final int VM_TASKS = 4;
  static final int WARMUP = 3;
  static final String COMMAND = "echo turnaround";

  /** The STOPPED events seen, by instance id, completed by the event reader. */
  static final Map<String, CompletableFuture<InstanceView>> STOPPED = new ConcurrentHashMap<>();

  public static void main(String[] args) throws Exception {
    Path stateDir = Path.of(args[0]);
    Path machinesDir = Path.of(args[1]);
    String containerMachine = args[2];
    String vmMachine = args[3];
    String uri = args[4];
    Path jar = Path.of(args[5]);
    int containerTasks = Integer.getInteger("bench.containerTasks", CONTAINER_TASKS);
    ApiClient client = new ApiClient(DaemonEndpoint.locate(stateDir));
    ApiClient.Events events = client.events(null);
    Thread reader = new Thread(() -> readEvents(events), "events");
    reader.setDaemon(true);
    reader.start();

    MachineLibrary library = new MachineLibrary(machinesDir);
    Revision container = library.inService(containerMachine);
    String image = "buildhost/" + containerMachine + ":" + container.version();

    System.out.printf(
        "turnaround: %d container tasks back to back (after %d warm-ups)%n",
        containerTasks, WARMUP);
    for (int i = 0; i < WARMUP; i++) {
      agentTask(client, containerMachine);
      dockerRun(image, container.manifest());
    }
    double[] api = new double[containerTasks];
    long t0 = System.nanoTime();
    for (int i = 0; i < containerTasks; i++) {
      api[i] = agentTask(client, containerMachine);
    }
    double apiTotal = (System.nanoTime() - t0) / 1e6;
    double[] docker = new double[containerTasks];
    t0 = System.nanoTime();
    for (int i = 0; i < containerTasks; i++) {
      docker[i] = dockerRun(image, container.manifest());
    }
    double dockerTotal = (System.nanoTime() - t0) / 1e6;
    System.out.printf(Locale.ROOT, "%-40s %10s %10s %10s%n", "", "total s", "per task", "median");
    row("API loop (start, STOPPED, result, delete)", apiTotal, api);
    row("docker run --rm (same image and command)", dockerTotal, docker);
    System.out.printf(
        Locale.ROOT,
        "ratio API / docker run --rm: %.2f (target <= 1.0)%n%n",
        apiTotal / dockerTotal);

    System.out.printf("turnaround: %d VM tasks at once%n", VM_TASKS);
    double[] vmApi = concurrentAgentTasks(client, vmMachine);
    double vmApiWall = vmApi[VM_TASKS];
    double[] vmRef = concurrentVirshCreates(library.inService(vmMachine), uri, jar);
    double vmRefWall = vmRef[VM_TASKS];
    System.out.printf(Locale.ROOT, "%-40s %10s %10s %10s%n", "", "all done s", "mean", "median");
    row("API loop, " + VM_TASKS + " at once", vmApiWall, Arrays.copyOf(vmApi, VM_TASKS));
    row("virsh create, " + VM_TASKS + " at once", vmRefWall, Arrays.copyOf(vmRef, VM_TASKS));
    System.out.printf(
        Locale.ROOT, "ratio API / virsh create: %.2f (target <= 1.05)%n", vmApiWall / vmRefWall);
    events.close();
  }

  static void row(String name, double totalMs, double[] each) {
    double[] sorted = each.clone();
    Arrays.sort(sorted);
    System.out.printf(
        Locale.ROOT,
        "%-40s %10.2f %10.3f %10.3f%n",
        name,
        totalMs / 1000,
        Arrays.stream(each).average().orElse(0) / 1000,
        sorted[sorted.length / 2] / 1000);
  }

  static void readEvents(ApiClient.Events events) {
    while (events.hasNext()) {
      InstanceEventView event = events.next();
      if (event.kind() == InstanceEventView.Kind.STOPPED && event.instance() != null) {
        STOPPED
            .computeIfAbsent(event.instance().id(), id -> new CompletableFuture<>())
            .complete(event.instance());
      }
    }
  }

  static String task() {
    String manifest = ": 1\ncommand: " + COMMAND + "\n";
    return Base64.getEncoder().encodeToString(manifest.getBytes(StandardCharsets.UTF_8));
  }

  /** One task as an agent runs it; returns its wall time in ms. */
  static double agentTask(ApiClient client, String machine) throws Exception {
    long t0 = System.nanoTime();
    InstanceView started =
        client.start(new StartBody(machine, 600L, Map.of("task.manifest", task())));
    InstanceView stopped =
        STOPPED
            .computeIfAbsent(started.id(), id -> new CompletableFuture<>())
            .get(10, TimeUnit.MINUTES);
    String result;
    try (InputStream in = client.openFile(started.id(), "result.manifest")) {
      result = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    client.delete(started.id());
    double ms = (System.nanoTime() - t0) / 1e6;
    STOPPED.remove(started.id());
    if (!result.contains("status: success")) {
      throw new IllegalStateException(
          "task on " + stopped.id() + " did not succeed (" + stopped.endReason() + "):\n" + result);
    }
    return ms;
  }

  /** VM_TASKS agent tasks at once: each one's ms, then the wall time until all were done. */
  static double[] concurrentAgentTasks(ApiClient client, String machine) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(VM_TASKS);
    try {
      long t0 = System.nanoTime();
      List<Future<Double>> tasks = new ArrayList<>();
      for (int i = 0; i < VM_TASKS; i++) {
        tasks.add(pool.submit(() -> agentTask(client, machine)));
      }
      double[] times = new double[VM_TASKS + 1];
      for (int i = 0; i < VM_TASKS; i++) {
        times[i] = tasks.get(i).get();
      }
      times[VM_TASKS] = (System.nanoTime() - t0) / 1e6;
      return times;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * VM_TASKS transient domains of the XML the manager builds, created at once with virsh; each
   * guest's worker talks to a `buildhost tftp --writable` server holding the task. A run ends when
   * its domain is gone (the guest powered off) with result.manifest uploaded.
   */
  static double[] concurrentVirshCreates(Revision revision, String uri, Path jar) throws Exception {
    Path root = Files.createTempDirectory("buildhost-bench-turnaround");
    // QEMU runs as libvirt-qemu: it must pass through the root to the instances' files.
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    ManagerConfig defaults = ManagerConfig.defaults(root);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            24700,
            24799,
            VM_TASKS,
            16384,
            Duration.ofMinutes(10),
            Duration.ofSeconds(5),
            Acceleration.AUTO,
            uri,
            defaults.dockerHost(),
            "host");
    LibvirtBackend backend = new LibvirtBackend(config);
    List<Process> servers = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    List<Path> results = new ArrayList<>();
    List<String> names = new ArrayList<>();
    try {
      for (int i = 0; i < VM_TASKS; i++) {
        String id = "bench-turnaround-" + i;
        int port = 24790 + i;
        Path dir = Files.createDirectories(root.resolve("instances").resolve(id));
        Path tftpRoot = Files.createDirectories(dir.resolve("tftp"));
        Files.write(tftpRoot.resolve("task.manifest"), Base64.getDecoder().decode(task()));
        servers.add(tftpServer(jar, tftpRoot, port));
        String xml = backend.prepare(new LaunchSpec(id, revision, dir, port)).toXml();
        files.add(Files.writeString(dir.resolve("domain.xml"), xml));
        results.add(tftpRoot.resolve("result.manifest"));
        names.add("buildhost-" + id);
      }
      ExecutorService pool = Executors.newFixedThreadPool(VM_TASKS);
      try {
        long t0 = System.nanoTime();
        List<Future<Double>> runs = new ArrayList<>();
        for (int i = 0; i < VM_TASKS; i++) {
          Path file = files.get(i);
          Path result = results.get(i);
          String name = names.get(i);
          runs.add(
              pool.submit(
                  () -> {
                    long start = System.nanoTime();
                    run("virsh", "-q", "-c", uri, "create", file.toString());
                    // The result first (a file test), then the domain's end (a virsh process):
                    // polling virsh alone would load the host the reference runs on. The domain
                    // is transient: it is gone once the guest powered off.
                    while (!Files.exists(result)
                        || run("virsh", "-q", "-c", uri, "domstate", name).contains("running")) {
                      if (System.nanoTime() - start > TimeUnit.MINUTES.toNanos(10)) {
                        throw new IllegalStateException(name + " did not finish in 10 minutes");
                      }
                      Thread.sleep(50);
                    }
                    return (System.nanoTime() - start) / 1e6;
                  }));
        }
        double[] times = new double[VM_TASKS + 1];
        for (int i = 0; i < VM_TASKS; i++) {
          times[i] = runs.get(i).get();
          String result = Files.readString(results.get(i));
          if (!result.contains("status: success")) {
            throw new IllegalStateException(names.get(i) + " did not succeed:\n" + result);
          }
        }
        times[VM_TASKS] = (System.nanoTime() - t0) / 1e6;
        return times;
      } finally {
        pool.shutdownNow();
      }
    } finally {
      for (String name : names) {
        run("virsh", "-q", "-c", uri, "destroy", name);
      }
      for (Process server : servers) {
        server.destroy();
        server.waitFor(10, TimeUnit.SECONDS);
      }
      try (var paths = Files.walk(root)) {
        for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      }
    }
  }

  /** `buildhost tftp --writable` on 127.0.0.1:PORT; returns once it listens. */
  static Process tftpServer(Path jar, Path root, int port) throws IOException {
    Process server =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "tftp",
                "--writable",
                "--listen",
                "127.0.0.1:" + port,
                "--root",
                root.toString())
            .redirectErrorStream(true)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      if (line.contains("listening on")) {
        Thread drain =
            new Thread(
                () -> {
                  try {
                    out.transferTo(java.io.Writer.nullWriter());
                  } catch (IOException e) {
                    // the server stopped
                  }
                });
        drain.setDaemon(true);
        drain.start();
        return server;
      }
    }
    throw new IllegalStateException("buildhost tftp on port " + port + " did not start");
  }

  /** `docker run --rm` of the image running COMMAND, with the limits the backend sets; ms. */
  static double dockerRun(String image, Manifest manifest) throws Exception {
    List<String> command =
        new ArrayList<>(List.of("docker", "run", "--rm", "--init", "--network", "host"));
    Long ram =
        manifest.ramMaximumMib() != null ? manifest.ramMaximumMib() : manifest.ramMinimumMib();
    if (ram != null) {
      command.addAll(List.of("--memory", ram + "m", "--memory-swap", ram + "m"));
    }
    if (manifest.cpus() != null) {
      command.addAll(List.of("--cpus", String.valueOf(manifest.cpus())));
    }
    command.addAll(List.of(image, "sh", "-c", COMMAND));
    long t0 = System.nanoTime();
    String output = run(command.toArray(String[]::new));
    double ms = (System.nanoTime() - t0) / 1e6;
    if (!output.contains("turnaround")) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
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
}
