import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.bootstrap.StateStore;
import dev.buildhost.manager.bootstrap.Toolchains;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.instance.InstanceManager;
import dev.buildhost.manager.libvirt.LibvirtBackend;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.model.BootstrappedMode;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.StartRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * bench/bootstrap, the Java side (one warm JVM): with the sample container and a 100 MiB toolchain,
 * (1) the time from start() to the end of a build that installs the toolchain itself (fetch over
 * TFTP and unpack, as a bootstrap does) against a build started from the bootstrapped state that
 * finds it installed; (2) the start latency (start() to RUNNING) of a bootstrapped instance against
 * a plain one (target ratio at most 1.1); (3) the same start latency for the sample VM: an instance
 * whose overlay goes over the bootstrap's layer against one over the bare disk. Medians of RUNS
 * runs. Arguments: MACHINES_DIR CONTAINER_MACHINE VM_MACHINE LIBVIRT_URI.
 */
public class BootstrapBench {

  static final int RUNS = 3;
  static final int TOOLCHAIN_MIB = 100;

  public static void main(String[] args) throws Exception {
    Path samples = Path.of(args[0]);
    containerRows(samples, args[1]);
    vmRow(samples, args[2], args[3]);
  }

  /** The container rows: a build installing the toolchain against one from the state; starts. */
  static void containerRows(Path samples, String sample) throws Exception {
    Path root = Files.createTempDirectory("buildhost-bench-bootstrap-");
    String machine = "bench-bs";
    Path toolchains = machine(samples, sample, root, machine);
    byte[] tar = toolchainTar();
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            25500,
            25599,
            4,
            16384,
            Duration.ofMinutes(10),
            Duration.ofSeconds(5),
            Acceleration.TCG,
            "qemu:///system",
            "unix:///var/run/docker.sock",
            "host");
    DockerBackend backend = new DockerBackend(config);
    MachineLibrary library = new MachineLibrary(config.machinesDir());
    Map<String, CompletableFuture<Long>> running = new ConcurrentHashMap<>();
    Map<String, CompletableFuture<Long>> stopped = new ConcurrentHashMap<>();
    try (InstanceManager manager =
        InstanceManager.open(config, library::inService, List.of(backend))) {
      manager.subscribe(event -> record(event, running, stopped));
      Bootstraps bootstraps =
          new Bootstraps(
              manager,
              library,
              new Toolchains(toolchains.getParent(), Map.of()),
              new StateStore(config.stateDir()),
              List.<KeepsGuestDisk>of(backend),
              Clock.systemUTC());
      Map<String, byte[]> install =
          Map.of(
              "task.manifest", task(true, "test -f $BUILDHOST_PERSIST/blob"), "toolchain.tar", tar);
      Map<String, byte[]> use =
          Map.of("task.manifest", task(false, "test -f $BUILDHOST_PERSIST/blob"));

      // warm-up: loads the image
      endOf(
          manager,
          bootstraps.start(new StartRequest(machine, null, use, BootstrappedMode.NEVER, null)),
          stopped);
      Instance boot =
          bootstraps.bootstrap(
              new StartRequest(machine, null, install, BootstrappedMode.NEVER, null));
      endOf(manager, boot, stopped);
      System.out.println("bootstrap: " + manager.get(boot.id()).message());

      List<Long> installEvery = new ArrayList<>();
      List<Long> fromState = new ArrayList<>();
      List<Long> plainStart = new ArrayList<>();
      List<Long> stateStart = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        long t0 = System.nanoTime();
        Instance a =
            bootstraps.start(
                new StartRequest(machine, null, install, BootstrappedMode.NEVER, null));
        plainStart.add(at(running, a) - t0);
        installEvery.add(endOf(manager, a, stopped) - t0);
        check(manager, a);
        long t1 = System.nanoTime();
        Instance b =
            bootstraps.start(new StartRequest(machine, null, use, BootstrappedMode.REQUIRED, null));
        stateStart.add(at(running, b) - t1);
        fromState.add(endOf(manager, b, stopped) - t1);
        check(manager, b);
      }
      double install1 = median(installEvery);
      double state1 = median(fromState);
      double plain = median(plainStart);
      double boots = median(stateStart);
      System.out.printf(Locale.ROOT, "%-44s %10s%n", "measure (median of " + RUNS + ")", "ms");
      System.out.printf(
          Locale.ROOT,
          "%-44s %10.0f%n",
          "build installing a " + TOOLCHAIN_MIB + " MiB toolchain",
          install1);
      System.out.printf(Locale.ROOT, "%-44s %10.0f%n", "build from the bootstrapped state", state1);
      System.out.printf(Locale.ROOT, "%-44s %10.0f%n", "start latency, plain instance", plain);
      System.out.printf(
          Locale.ROOT, "%-44s %10.0f%n", "start latency, bootstrapped instance", boots);
      System.out.printf(
          Locale.ROOT, "ratio build from state / installing build: %.2f%n", state1 / install1);
      System.out.printf(
          Locale.ROOT, "ratio start bootstrapped / plain: %.2f (target <= 1.1)%n", boots / plain);
      bootstraps
          .store()
          .list()
          .forEach(
              s -> {
                if (s.state().image() != null) {
                  backend.discard(
                      new dev.buildhost.manager.backend.KeptDisk(null, s.state().image()));
                }
              });
    }
    deleteTree(root);
  }

  /**
   * The VM row: the start latency (start() to RUNNING) of the sample VM on its bootstrapped state
   * (its one-shot overlay over the bootstrap's layer over the revision's disk) against the bare
   * revision (the overlay over the disk). Each instance is terminated once RUNNING.
   */
  static void vmRow(Path samples, String sample, String uri) throws Exception {
    Path root = Files.createTempDirectory("buildhost-bench-bootstrap-vm-");
    // QEMU runs as libvirt-qemu: it must pass through the root to the machine's and instances'
    // files.
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    String machine = "bench-bs-vm";
    Path toolchains = machine(samples, sample, root, machine);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            25600,
            25699,
            4,
            16384,
            Duration.ofMinutes(10),
            Duration.ofSeconds(5),
            Acceleration.AUTO,
            uri,
            "unix:///var/run/docker.sock",
            "host");
    LibvirtBackend backend = new LibvirtBackend(config);
    MachineLibrary library = new MachineLibrary(config.machinesDir());
    Map<String, CompletableFuture<Long>> running = new ConcurrentHashMap<>();
    Map<String, CompletableFuture<Long>> stopped = new ConcurrentHashMap<>();
    try (InstanceManager manager =
        InstanceManager.open(config, library::inService, List.of(backend))) {
      manager.subscribe(event -> record(event, running, stopped));
      Bootstraps bootstraps =
          new Bootstraps(
              manager,
              library,
              new Toolchains(toolchains.getParent(), Map.of()),
              new StateStore(config.stateDir()),
              List.<KeepsGuestDisk>of(backend),
              Clock.systemUTC());
      Instance boot =
          bootstraps.bootstrap(
              new StartRequest(
                  machine,
                  null,
                  Map.of(
                      "task.manifest",
                      ": 1\nmode: bootstrap\ncommand: mkdir -p $BUILDHOST_PERSIST\n"
                          .getBytes(StandardCharsets.UTF_8)),
                  BootstrappedMode.NEVER,
                  null));
      endOf(manager, boot, stopped);
      System.out.println(
          "VM bootstrap ("
              + backend.accelerationChoice().domainType()
              + "): "
              + manager.get(boot.id()).message());
      Map<String, byte[]> sleep =
          Map.of("task.manifest", ": 1\ncommand: sleep 600\n".getBytes(StandardCharsets.UTF_8));
      List<Long> bare = new ArrayList<>();
      List<Long> onState = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        bare.add(
            startLatency(
                manager, bootstraps, machine, sleep, BootstrappedMode.NEVER, running, stopped));
        onState.add(
            startLatency(
                manager, bootstraps, machine, sleep, BootstrappedMode.REQUIRED, running, stopped));
      }
      double plain = median(bare);
      double boots = median(onState);
      System.out.printf(Locale.ROOT, "%-44s %10.0f%n", "start latency, bare " + sample, plain);
      System.out.printf(
          Locale.ROOT, "%-44s %10.0f%n", "start latency, bootstrapped " + sample, boots);
      System.out.printf(
          Locale.ROOT, "ratio VM start bootstrapped / bare: %.2f (target <= 1.1)%n", boots / plain);
    }
    deleteTree(root);
  }

  /** start() to RUNNING of one instance, which is then terminated and awaited. */
  static long startLatency(
      InstanceManager manager,
      Bootstraps bootstraps,
      String machine,
      Map<String, byte[]> files,
      BootstrappedMode mode,
      Map<String, CompletableFuture<Long>> running,
      Map<String, CompletableFuture<Long>> stopped)
      throws Exception {
    long t0 = System.nanoTime();
    Instance instance = bootstraps.start(new StartRequest(machine, null, files, mode, null));
    long latency = at(running, instance) - t0;
    manager.terminate(instance.id());
    endOf(manager, instance, stopped);
    manager.delete(instance.id());
    return latency;
  }

  static void record(
      InstanceEvent event,
      Map<String, CompletableFuture<Long>> running,
      Map<String, CompletableFuture<Long>> stopped) {
    String id = event.instance().id();
    if (event.kind() == InstanceEvent.Kind.RUNNING) {
      running.computeIfAbsent(id, k -> new CompletableFuture<>()).complete(System.nanoTime());
    } else if (event.kind() == InstanceEvent.Kind.STOPPED) {
      stopped.computeIfAbsent(id, k -> new CompletableFuture<>()).complete(System.nanoTime());
    }
  }

  /**
   * {@code root/machines/MACHINE/MACHINE-1.0}, a copy of the sample's revision in service, and the
   * toolchain "bench" published as the monitor does; returns the toolchain's folder.
   */
  static Path machine(Path samples, String sample, Path root, String machine) throws IOException {
    Path source = samples.resolve(sample).resolve(sample + "-1").toRealPath();
    Path revision =
        Files.createDirectories(root.resolve("machines/" + machine + "/" + machine + "-1.0"));
    try (var files = Files.list(source)) {
      for (Path file : files.toList()) {
        Path target = revision.resolve(file.getFileName());
        if (file.getFileName().toString().equals("manifest")) {
          Files.writeString(
              target, Files.readString(file).replaceFirst("(?m)^name: .*$", "name: " + machine));
        } else {
          Files.copy(file, target);
        }
      }
    }
    Files.createSymbolicLink(
        root.resolve("machines/" + machine + "/" + machine + "-1"), revision.getFileName());
    Path toolchains = Files.createDirectories(root.resolve("tftp/toolchain/bench"));
    Files.writeString(toolchains.resolve("toolchain.sha256"), "bench  toolchain.tar\n");
    return toolchains;
  }

  static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }

  static void check(InstanceManager manager, Instance instance) throws IOException {
    Path result = manager.tftpFolder(instance.id()).resolve("result.manifest");
    String text = Files.readString(result);
    if (!text.contains("status: success")) {
      throw new IllegalStateException("build " + instance.id() + " failed:\n" + text);
    }
  }

  static long at(Map<String, CompletableFuture<Long>> events, Instance instance) throws Exception {
    return events
        .computeIfAbsent(instance.id(), k -> new CompletableFuture<>())
        .get(10, TimeUnit.MINUTES);
  }

  static long endOf(
      InstanceManager manager, Instance instance, Map<String, CompletableFuture<Long>> stopped)
      throws Exception {
    long end = at(stopped, instance);
    if (manager.get(instance.id()).state() != InstanceState.STOPPED) {
      throw new IllegalStateException("not stopped: " + instance.id());
    }
    return end;
  }

  static byte[] task(boolean install, String command) {
    String text =
        ": 1\n"
            + (install ? "mode: bootstrap\ntoolchain: toolchain.tar\n" : "")
            + "command: "
            + command
            + "\n";
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** A tar of one file, blob, of TOOLCHAIN_MIB MiB of random bytes (ustar, written by hand). */
  static byte[] toolchainTar() throws IOException {
    byte[] blob = new byte[TOOLCHAIN_MIB << 20];
    new Random(16).nextBytes(blob);
    ByteArrayOutputStream out = new ByteArrayOutputStream(blob.length + 4096);
    byte[] header = new byte[512];
    put(header, 0, "blob");
    put(header, 100, "0000644\0");
    put(header, 108, "0000000\0");
    put(header, 116, "0000000\0");
    put(header, 124, String.format(Locale.ROOT, "%011o\0", blob.length));
    put(header, 136, "00000000000\0");
    header[156] = '0';
    put(header, 257, "ustar\0");
    put(header, 263, "00");
    for (int i = 148; i < 156; i++) {
      header[i] = ' ';
    }
    long sum = 0;
    for (byte b : header) {
      sum += b & 0xff;
    }
    put(header, 148, String.format(Locale.ROOT, "%06o\0 ", sum));
    out.write(header);
    out.write(blob);
    out.write(new byte[(512 - blob.length % 512) % 512 + 1024]);
    return out.toByteArray();
  }

  static void put(byte[] header, int at, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, header, at, bytes.length);
  }

  static double median(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2) / 1e6;
  }
}
