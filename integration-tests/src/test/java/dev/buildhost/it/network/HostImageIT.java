package dev.buildhost.it.network;

import static dev.buildhost.it.network.NetworkLab.check;
import static dev.buildhost.it.network.NetworkLab.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build-host image (scripts/build-host-image, doc/host-image.md) netboots in a QEMU guest (TCG)
 * on a bridge of its own: dnsmasq gives the lease and the boot file, buildhost's TFTP server serves
 * lpxelinux.0 and its configuration, an HTTP server the kernel, the initramfs, the root archive
 * (which the initramfs fetches), the build-id and a toolchain. The host bootstraps the toolchain,
 * its daemon answers (metrics) and its read-only TFTP serves the toolchain; then a new build-id is
 * published the way an operator publishes one, and the host drains, reboots through its monitor's
 * real reboot path ({@code systemctl reboot}), netboots again and reports the new build-id. The
 * timeline of both boots is printed.
 */
class HostImageIT {
  // Not "bh...": a buildhost daemon running on the host drops frames from every port named bh*
  // (its guest ports), whatever bridge the port is on.
  private static final String BRIDGE = "himg0";
  private static final String TAP = "himgtap0";
  // 198.18.0.0/15 is set aside for network tests (RFC 2544): no real host is there.
  private static final String SERVER = "198.18.77.1";
  private static final String GUEST = "198.18.77.50";
  private static final String MAC = "52:54:00:77:00:01";
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(20);
  // virtio-net, modern only (device 1af4:1041, the one iPXE's pxe-virtio.rom drives): the NIC
  // whose emulation costs least per packet under TCG (the firmware's PXE, the initramfs' download
  // of the root); the image's drivers cover real NICs as well.
  private static final Path PXE_ROM = Path.of("/usr/lib/ipxe/qemu/pxe-virtio.rom");
  // Per machine, as scripts/test caches the sample machines: the image's Debian-system layer
  // takes 10-20 minutes to build, its root layer (keyed on the package's content) 1-3.
  private static final String DEFAULT_CACHE = "/var/cache/buildhost";

  @TempDir Path temp;

  private final List<String> timeline = new ArrayList<>();
  private long qemuStart;

  @Test
  void theImageNetbootsServesItsToolchainAndRebootsIntoANewlyPublishedBuildId() throws Exception {
    NetworkLab.requireKernelAndTools();
    for (String tool :
        List.of("qemu-system-x86_64", "debootstrap", "zstd", "cpio", "dnsmasq", "curl")) {
      Requirement.command(tool);
    }
    if (!Files.isReadable(PXE_ROM)) {
      Requirement.unmet(PXE_ROM + " is missing (package ipxe-qemu)");
    }
    if (run("ip", "link", "show", BRIDGE).exitCode() == 0) {
      fail(
          "the link "
              + BRIDGE
              + " exists already: a leak of an earlier run? ip link del "
              + BRIDGE);
    }
    Path repo = Path.of(System.getProperty("buildhost.repo", ".")).toAbsolutePath();
    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path image = temp.resolve("buildos");
    String firstId = "it-" + Long.toHexString(System.nanoTime()) + "-one";
    String secondId = firstId.replace("-one", "-two");
    long buildStart = System.nanoTime();
    buildImage(repo, firstId, image);
    System.out.printf(
        "host image built (or taken from the cache) in %.1f s:%n%s%n",
        seconds(buildStart), Files.readString(image.resolve("SIZES")));

    Path toolchain = Files.createDirectories(temp.resolve("toolchain"));
    String hello = "a toolchain file, served by the host image's read-only TFTP\n";
    Files.writeString(toolchain.resolve("hello.txt"), hello);
    Files.writeString(
        toolchain.resolve("toolchain.sha256"),
        Checksums.sha256(toolchain.resolve("hello.txt")) + "  hello.txt\n");

    List<Process> processes = new ArrayList<>();
    HttpServer http = null;
    TftpServer tftp = null;
    try {
      check(run("ip", "link", "add", BRIDGE, "type", "bridge"));
      check(run("ip", "address", "add", SERVER + "/24", "dev", BRIDGE));
      check(run("ip", "link", "set", BRIDGE, "up"));
      check(run("ip", "tuntap", "add", "dev", TAP, "mode", "tap"));
      check(run("ip", "link", "set", TAP, "master", BRIDGE, "up"));
      processes.add(
          start(
              temp.resolve("dnsmasq.log"),
              "dnsmasq",
              "--no-daemon",
              "--port=0",
              "--interface=" + BRIDGE,
              "--bind-interfaces",
              "--dhcp-range=198.18.77.50,198.18.77.60,1h",
              "--dhcp-host=" + MAC + "," + GUEST,
              "--dhcp-boot=lpxelinux.0,," + SERVER,
              "--dhcp-leasefile=" + temp.resolve("dnsmasq.leases"),
              "--pid-file=" + temp.resolve("dnsmasq.pid"),
              "--log-dhcp"));
      tftp =
          TftpServer.builder(image)
              .bindAddress(InetAddress.getByName(SERVER))
              .port(69)
              .build()
              .start();
      http = HttpServer.create(new InetSocketAddress(SERVER, 0), 16);
      Path served = image;
      // One context at "/": the HttpServer here is Jetty's (jetty-http-spi, on the classpath
      // through the manager), which matches a context "/buildos/" to no file under it.
      http.createContext(
          "/",
          exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.startsWith("/toolchain/")) {
              serve(exchange, toolchain, "/toolchain/");
            } else {
              serve(exchange, served, "/buildos/");
            }
          });
      http.start();
      String base = "http://" + SERVER + ":" + http.getAddress().getPort();
      check(
          run(
              repo.resolve("scripts/host-image-pxelinux-cfg").toString(),
              "--http",
              base + "/buildos",
              image.toString(),
              "buildos.buildid_url=" + base + "/buildos/buildos-buildid",
              "buildos.toolchain_url.toolchain=" + base + "/toolchain/toolchain.sha256",
              "buildos.interval=5s",
              "buildos.drain_poll=1s"));

      Path console = temp.resolve("console.log");
      qemuStart = System.nanoTime();
      processes.add(
          start(
              temp.resolve("qemu.log"),
              "qemu-system-x86_64",
              "-accel",
              "tcg,thread=multi",
              "-m",
              "3072",
              "-smp",
              "2",
              "-display",
              "none",
              "-monitor",
              "none",
              "-serial",
              "file:" + console,
              "-netdev",
              "tap,id=n0,ifname=" + TAP + ",script=no,downscript=no",
              "-device",
              "virtio-net-pci,disable-legacy=on,netdev=n0,mac=" + MAC + ",romfile=" + PXE_ROM,
              "-boot",
              "order=n"));

      awaitBoot(console, 1, firstId);
      awaitBaseline(console, firstId);
      assertTrue(
          console(console).contains("toolchain toolchain bootstrapped"),
          "the monitor bootstrapped the toolchain from the HTTP server");

      // The monitor is ready before the daemon's JVM is: both start at once, and a JVM start
      // takes minutes under TCG.
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
      HttpRequest metricsRequest =
          HttpRequest.newBuilder(URI.create("http://" + GUEST + ":7346/metrics"))
              .timeout(Duration.ofSeconds(60))
              .build();
      String metrics =
          Awaitility.await("the host's daemon answers GET /metrics")
              .atMost(BOOT_TIMEOUT)
              .pollInterval(Duration.ofSeconds(2))
              .ignoreExceptions()
              .until(
                  () -> client.send(metricsRequest, HttpResponse.BodyHandlers.ofString()),
                  response -> response.statusCode() == 200)
              .body();
      assertTrue(metrics.contains("buildhost_"), "buildhost metrics: " + metrics);
      mark("the host's daemon answers its API (GET /metrics)");
      Path fetched = temp.resolve("fetched.txt");
      check(
          run(
              "curl",
              "-sS",
              "--max-time",
              "60",
              "-o",
              fetched.toString(),
              "tftp://" + GUEST + "/toolchain/toolchain/hello.txt"));
      assertEquals(
          hello, Files.readString(fetched), "the host's read-only TFTP serves the toolchain");
      mark("the host's read-only TFTP serves the toolchain (curl tftp://" + GUEST + ")");

      buildImage(repo, secondId, image);
      mark("published build-id " + secondId);
      awaitConsole(console, "is draining", 1, "the host drains its daemon");
      awaitConsole(console, "reboot under way", 1, "the monitor reboots the host");
      awaitBoot(console, 2, secondId);
      awaitBaseline(console, secondId);
      System.out.println("boot timeline (seconds since QEMU started):");
      timeline.forEach(line -> System.out.println("  " + line));
    } catch (Exception | AssertionError e) {
      System.out.println("boot timeline so far:");
      timeline.forEach(line -> System.out.println("  " + line));
      System.out.println("console (tail):\n" + tail(temp.resolve("console.log")));
      // The DHCP side of a boot that never reached PXELINUX.
      System.out.println("dnsmasq (tail):\n" + tail(temp.resolve("dnsmasq.log")));
      keepConsole(temp.resolve("console.log"));
      throw e;
    } finally {
      for (int i = processes.size() - 1; i >= 0; i--) {
        Process process = processes.get(i);
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      if (http != null) {
        http.stop(0);
      }
      if (tftp != null) {
        tftp.close();
      }
      run("ip", "link", "del", TAP);
      run("ip", "link", "del", BRIDGE);
    }
    assertTrue(run("ip", "link", "show", BRIDGE).exitCode() != 0, BRIDGE + " was removed");
  }

  /** Waits for boot number {@code n} to go from PXELINUX to a ready monitor, marking each step. */
  private void awaitBoot(Path console, int n, String buildId) {
    awaitConsole(console, "PXELINUX", n, "PXE: PXELINUX runs");
    awaitConsole(console, "Linux version", n, "the kernel starts");
    awaitConsole(
        console,
        "buildhost-image: build-id " + buildId,
        1,
        "/init streams the root of build-id " + buildId);
    awaitConsole(console, "Welcome to ", n, "systemd starts");
    awaitConsole(console, "toolchain toolchain bootstrapped", n, "the monitor bootstrapped");
    awaitConsole(console, "watching every", n, "the monitor is ready (watching)");
  }

  /**
   * Waits for the monitor to take {@code buildId} as its baseline: at its start, or at its first
   * check when the build-id could not be read at the start (a network not answering yet, seen after
   * the reboot).
   */
  private void awaitBaseline(Path console, String buildId) {
    awaitConsole(
        console,
        "OS build-id baseline: '" + buildId + "'",
        1,
        "the monitor reports build-id " + buildId + " (its baseline)");
  }

  private void awaitConsole(Path console, String text, int occurrence, String what) {
    try {
      Awaitility.await()
          .atMost(BOOT_TIMEOUT)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> count(console(console), text) >= occurrence);
    } catch (ConditionTimeoutException e) {
      fail(
          "no '"
              + text
              + "' (#"
              + occurrence
              + ") on the console in "
              + BOOT_TIMEOUT.toMinutes()
              + " minutes ("
              + what
              + ")");
    }
    mark(what);
  }

  private void mark(String what) {
    String line = String.format(Locale.ROOT, "%7.1f s  %s", seconds(qemuStart), what);
    timeline.add(line);
    System.out.println("timeline: " + line);
  }

  private void buildImage(Path repo, String buildId, Path image) throws Exception {
    Path log = temp.resolve("build-" + buildId + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(
                repo.resolve("scripts/build-host-image").toString(),
                "--build-id",
                buildId,
                image.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().putIfAbsent("BUILDHOST_CACHE", DEFAULT_CACHE);
    Process build = builder.start();
    if (!build.waitFor(45, TimeUnit.MINUTES) || build.exitValue() != 0) {
      build.destroyForcibly();
      fail("scripts/build-host-image failed: " + NetworkLab.readFile(log));
    }
    System.out.print(NetworkLab.readFile(log));
  }

  private static void serve(HttpExchange exchange, Path root, String prefix) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String name = path.startsWith(prefix) ? path.substring(prefix.length()) : "";
      Path file = root.resolve(name).normalize();
      if (name.isEmpty() || !file.startsWith(root) || !Files.isRegularFile(file)) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      boolean text = name.endsWith("buildos-buildid") || name.endsWith(".sha256");
      exchange
          .getResponseHeaders()
          .set("Content-Type", text ? "text/plain; charset=utf-8" : "application/octet-stream");
      exchange.sendResponseHeaders(200, Files.size(file));
      try (InputStream in = Files.newInputStream(file);
          OutputStream out = exchange.getResponseBody()) {
        in.transferTo(out);
      }
    }
  }

  private static Process start(Path log, String... command) throws IOException {
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  private static String console(Path console) {
    return Files.exists(console) ? NetworkLab.readFile(console) : "";
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
      n++;
    }
    return n;
  }

  /** The whole console of a failed run, kept beyond the temporary folder (target/). */
  private static void keepConsole(Path console) throws IOException {
    if (Files.exists(console)) {
      Path kept = Path.of("target", "HostImageIT-console.log").toAbsolutePath();
      Files.copy(console, kept, StandardCopyOption.REPLACE_EXISTING);
      System.out.println("the whole console: " + kept);
    }
  }

  private static String tail(Path file) {
    String text = console(file);
    return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
