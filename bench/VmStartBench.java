import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.libvirt.QemuImg;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * bench/vm-start, the Java side (one warm JVM): (1) the time from InstanceManager.start() to its
 * return with the domain running (overlay, TFTP server, journal and domain creation included),
 * against `virsh create` of the same domain XML (overlay and boot files made beforehand, untimed),
 * each the median of RUNS runs after WARMUP warm-ups; (2) qcow2 overlay creation over a 1 GiB and a
 * 20 GiB sparse base disk, median of RUNS. Arguments: MACHINES_DIR MACHINE LIBVIRT_URI.
 */
public class VmStartBench {
  static final int WARMUP = 2;
  static final int RUNS = 5;

  public static void main(String[] args) throws Exception {
    Path machinesDir = Path.of(args[0]);
    String machine = args[1];
    String uri = args[2];
    Path root = Files.createTempDirectory("buildhost-bench-vm-start");
    // QEMU runs as libvirt-qemu: it must pass through the root to the instances' files.
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(root.resolve("machines"), machinesDir.toAbsolutePath());
    ManagerConfig defaults = ManagerConfig.defaults(root);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            24200,
            24299,
            4,
            16384,
            Duration.ofMinutes(10),
            Duration.ofSeconds(5),
            Acceleration.AUTO,
            uri,
            defaults.dockerHost(),
            "host");
    MachineLibrary library = new MachineLibrary(config.machinesDir());
    Revision revision = library.inService(machine);
    LibvirtBackend backend = new LibvirtBackend(config);
    System.out.println(
        "acceleration: "
            + backend.accelerationChoice().domainType()
            + " ("
            + backend.accelerationChoice().reason()
            + ")");
    double[] api;
    double[] virsh;
    try (InstanceManager manager = InstanceManager.open(config, library, List.of(backend))) {
      api = apiStarts(manager, machine);
      virsh = virshCreates(config, backend, revision);
    }
    double[] overlay1 = overlays(root, 1);
    double[] overlay20 = overlays(root, 20);
    deleteTree(root);

    System.out.println();
    System.out.printf(
        Locale.ROOT, "%-44s %s%n", "measure (ms, " + RUNS + " runs)", "median   runs");
    row("API start() -> domain running", api);
    row("virsh create (same XML, overlay ready)", virsh);
    System.out.printf(
        Locale.ROOT,
        "ratio API / virsh create: %.2f (target <= 1.2)%n",
        median(api) / median(virsh));
    row("overlay over a 1 GiB sparse disk", overlay1);
    row("overlay over a 20 GiB sparse disk", overlay20);
    System.out.printf(
        Locale.ROOT,
        "ratio overlay 20 GiB / 1 GiB: %.2f (target ~1: O(1) in the disk size)%n",
        median(overlay20) / median(overlay1));
  }

  /** start() of an instance that sleeps, timed to its return; then terminated and awaited. */
  static double[] apiStarts(InstanceManager manager, String machine) throws Exception {
    StartRequest request =
        new StartRequest(
            machine,
            null,
            Map.of("task.manifest", ": 1\ncommand: sleep 600\n".getBytes(StandardCharsets.UTF_8)));
    double[] times = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      long started = System.nanoTime();
      Instance instance = manager.start(request);
      double ms = (System.nanoTime() - started) / 1e6;
      if (i >= 0) {
        times[i] = ms;
      }
      manager.terminate(instance.id());
      awaitStopped(manager, instance.id());
      manager.delete(instance.id());
    }
    return times;
  }

  /** The same XML the manager builds, created with the virsh CLI. */
  static double[] virshCreates(ManagerConfig config, LibvirtBackend backend, Revision revision)
      throws Exception {
    double[] times = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      String id = "bench-virsh-" + (i + WARMUP);
      Path dir = Files.createDirectories(config.instancesDir().resolve(id));
      String xml = backend.prepare(new LaunchSpec(id, revision, dir, 24299)).toXml();
      Path file = Files.writeString(dir.resolve("domain.xml"), xml);
      long started = System.nanoTime();
      run("virsh", "-q", "-c", config.libvirtUri(), "create", file.toString());
      double ms = (System.nanoTime() - started) / 1e6;
      if (i >= 0) {
        times[i] = ms;
      }
      run("virsh", "-q", "-c", config.libvirtUri(), "destroy", "buildhost-" + id);
    }
    return times;
  }

  static double[] overlays(Path root, int gib) throws IOException, BackendException {
    Path base = root.resolve("base-" + gib + "g.img");
    try (RandomAccessFile file = new RandomAccessFile(base.toFile(), "rw")) {
      file.setLength((long) gib << 30);
    }
    double[] times = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      Path overlay = root.resolve("overlay-" + gib + "g.qcow2");
      long started = System.nanoTime();
      QemuImg.createOverlay(base, overlay);
      double ms = (System.nanoTime() - started) / 1e6;
      if (i >= 0) {
        times[i] = ms;
      }
      Files.delete(overlay);
    }
    Files.delete(base);
    return times;
  }

  static void awaitStopped(InstanceManager manager, String id) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (manager.get(id).state() != InstanceState.STOPPED) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(id + " did not stop");
      }
      Thread.sleep(20);
    }
  }

  static void run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }

  static void row(String name, double[] times) {
    StringBuilder runs = new StringBuilder();
    for (double t : times) {
      runs.append(String.format(Locale.ROOT, " %.1f", t));
    }
    System.out.printf(
        Locale.ROOT, "%-44s %7.1f  %s%n", name, median(times), runs.toString().trim());
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
