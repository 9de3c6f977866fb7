package dev.buildhost.it.daemon;

import static dev.buildhost.it.daemon.BridgeDaemonIT.await;
import static dev.buildhost.it.daemon.BridgeDaemonIT.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * The stock Debian sample started through the daemon in network mode bridge, on the default address
 * 196.254.111.222 (the stock worker knows no other): libvirt boots it on its tap, it takes its
 * address from the daemon's dnsmasq, fetches task.manifest from 196.254.111.222:69 with the stock
 * tftp-hpa client, uploads result.manifest and powers off; its tap goes with it.
 */
class DebianSampleDaemonIT {
  private static final String ADDRESS = "196.254.111.222";
  private static final String BRIDGE = "bhdeb0";
  private static final String TABLE = "buildhost_debit";
  private static final String PREFIX = "bw";

  @TempDir Path scratch;
  private Path root;
  private DaemonProcess daemon;
  private String started;

  @AfterEach
  void tearDown() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
    if (started != null) {
      Connect libvirt = Daemons.libvirt();
      try {
        Domain domain = libvirt.domainLookupByName("buildhost-" + started);
        domain.destroy();
        domain.free();
      } catch (LibvirtException gone) {
        // the domain ended already
      } finally {
        libvirt.close();
      }
    }
    for (String line : run("ip", "-br", "link", "show").lines().toList()) {
      String name = line.split("[\\s@]+")[0];
      if (name.matches(PREFIX + "[tv][0-9a-f]{8}p?")) {
        run("ip", "link", "delete", name);
      }
    }
    run("ip", "link", "delete", BRIDGE);
    run("nft", "delete", "table", "bridge", TABLE);
    run("nft", "delete", "table", "inet", TABLE);
    if (root != null) {
      Path pid = root.resolve("state/network/dnsmasq.pid");
      if (Files.exists(pid) && !Files.readString(pid).isBlank()) {
        ProcessHandle.of(Long.parseLong(Files.readString(pid).strip()))
            .ifPresent(ProcessHandle::destroy);
      }
    }
  }

  @Test
  void theStockDebianSampleRunsItsTaskThroughTheDaemonOnTheBridge() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Requirement.unmet("the daemon makes a bridge, taps and nftables tables: run as root");
    }
    for (String tool : List.of("ip", "bridge", "nft", "dnsmasq", "debootstrap")) {
      Requirement.command(tool);
    }
    Daemons.libvirt().close();
    String addresses = run("ip", "-br", "address", "show");
    if (addresses.contains(ADDRESS + "/")) {
      fail(ADDRESS + " is already on an interface (a daemon, or another test):\n" + addresses);
    }
    Path machine = debianSample();
    Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
    root = scratch.resolve("root");
    // Revisions hold real files: hard links (a copy across file systems).
    Samples.linkTree(machine, root.resolve("machines"));
    int firstPort = 40000 + (int) (Math.random() * 10000);
    daemon =
        new DaemonProcess(
            root,
            List.of(
                "--listen",
                "127.0.0.1:0",
                "--tftp-listen",
                "off",
                "--tftp-ports",
                firstPort + "-" + (firstPort + 9),
                "--accel",
                "tcg",
                "--network-mode",
                "bridge",
                "--network-bridge",
                BRIDGE,
                "--network-table",
                TABLE,
                "--network-port-prefix",
                PREFIX));
    ApiClient api = daemon.start();
    assertEquals(ADDRESS, api.host().network().address());
    TaskManifest task =
        TaskManifest.of("uname -r", "ip -4 -o address show scope global", "echo stock-debian-ok");
    InstanceView vm =
        api.start(
            new StartBody(
                "sample-debian",
                900L,
                Map.of(
                    TaskManifest.FILE_NAME,
                    Base64.getEncoder()
                        .encodeToString(task.text().getBytes(StandardCharsets.UTF_8)))));
    started = vm.id();
    long begin = System.nanoTime();
    ResultManifest result =
        ResultManifest.awaitIn(root.resolve("tftp").resolve(vm.id()), Duration.ofMinutes(6))
            .orElseThrow(
                () ->
                    new AssertionError(
                        "no result.manifest from sample-debian; console:\n"
                            + console(vm.id())
                            + "\ndaemon log:\n"
                            + daemon.log()));
    System.out.printf(
        "sample-debian through the daemon: result after %.1f s%n",
        (System.nanoTime() - begin) / 1e9);
    assertEquals("success", result.status(), result.log());
    assertTrue(result.log().contains("196.254.111."), result.log());
    assertTrue(result.log().contains("stock-debian-ok"), result.log());
    String leases = Files.readString(root.resolve("state/network/dnsmasq.leases"));
    assertTrue(leases.contains("196.254.111."), "leased by the daemon's dnsmasq: " + leases);
    await(() -> api.instance(vm.id()).stopped(), "sample-debian powered itself off");
    assertEquals(InstanceView.EndReason.POWEROFF, api.instance(vm.id()).endReason());
  }

  private String console(String id) {
    try {
      return Files.readString(root.resolve("instances").resolve(id).resolve("console.log"));
    } catch (IOException e) {
      return "(no console: " + e + ")";
    }
  }

  /**
   * The machines folder holding sample-debian, built by its script (from the cache when it can).
   */
  private Path debianSample() throws Exception {
    Path repo = Path.of(System.getProperty("buildhost.repo", "."));
    Path samples = repo.resolve("build/debian-sample");
    Path log = scratch.resolve("build.log");
    Process build =
        new ProcessBuilder(
                repo.resolve("scripts/samples/build-debian-sample").toString(), samples.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!build.waitFor(30, TimeUnit.MINUTES) || build.exitValue() != 0) {
      build.destroyForcibly();
      fail("build-debian-sample failed: " + Files.readString(log));
    }
    return samples.resolve("machines");
  }
}
