package dev.buildhost.it.network;

import static dev.buildhost.it.network.NetworkLab.HOST;
import static dev.buildhost.it.network.NetworkLab.SETTINGS;
import static dev.buildhost.it.network.NetworkLab.check;
import static dev.buildhost.it.network.NetworkLab.run;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.support.Requirement;
import dev.buildhost.manager.network.BridgeNetwork;
import dev.buildhost.manager.network.GuestPort;
import dev.buildhost.manager.network.HostCommands;
import dev.buildhost.tftp.server.TftpServer;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stock Debian sample (scripts/samples/build-debian-sample, run here: cached, minutes the first
 * time) boots on a tap of the bridge network with its own kernel and root on its disk, takes its
 * address from the daemon-owned dnsmasq, fetches task.manifest from 196.254.111.222:69 with the
 * stock tftp-hpa client, uploads result.manifest and powers off. QEMU is run directly (TCG): the
 * libvirt backend is not wired to the bridge network yet.
 */
class DebianSampleBootIT {
  @TempDir Path temp;

  @Test
  void theStockDebianSampleGetsItsAddressByDhcpAndDoesItsTaskOverTftpAt196_254_111_222()
      throws Exception {
    NetworkLab.requireKernelAndTools();
    Requirement.command("qemu-system-x86_64");
    Requirement.command("qemu-img");
    Requirement.command("debootstrap");
    NetworkLab.requireCleanHost();
    Path repo = Path.of(System.getProperty("buildhost.repo", "."));
    Path samples = repo.resolve("build/debian-sample");
    long buildStart = System.nanoTime();
    Process build =
        new ProcessBuilder(
                repo.resolve("scripts/samples/build-debian-sample").toString(), samples.toString())
            .redirectErrorStream(true)
            .redirectOutput(temp.resolve("build.log").toFile())
            .start();
    if (!build.waitFor(30, TimeUnit.MINUTES) || build.exitValue() != 0) {
      build.destroyForcibly();
      fail("build-debian-sample failed: " + NetworkLab.readFile(temp.resolve("build.log")));
    }
    System.out.printf(
        "sample-debian built (or taken from the cache) in %.1f s%n",
        (System.nanoTime() - buildStart) / 1e9);
    Path machine = samples.resolve("machines/sample-debian/sample-debian-1");

    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path root = Files.createDirectories(temp.resolve("tftp"));
    Files.writeString(
        root.resolve("task.manifest"),
        """
        : 1
        command: uname -r
        command: ip -4 -o address show scope global
        command: systemctl is-active systemd-networkd
        """);
    check(
        run(
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            machine.resolve("disk.qcow2").toRealPath().toString(),
            temp.resolve("overlay.qcow2").toString()));
    BridgeNetwork network = BridgeNetwork.open(SETTINGS, temp.resolve("state"), new HostCommands());
    Process qemu = null;
    try (TftpServer server =
        TftpServer.builder(root)
            .bindAddress(InetAddress.getByName(HOST))
            .port(0)
            .writable(true)
            .build()
            .start()) {
      GuestPort port = network.attachVm("it-debian", Optional.empty(), server.port(), false);
      long bootStart = System.nanoTime();
      qemu =
          new ProcessBuilder(
                  "qemu-system-x86_64",
                  "-accel",
                  "tcg",
                  "-m",
                  "512",
                  "-smp",
                  "1",
                  "-display",
                  "none",
                  "-monitor",
                  "none",
                  "-no-reboot",
                  "-serial",
                  "file:" + temp.resolve("console.log"),
                  "-kernel",
                  machine.resolve("vmlinuz").toString(),
                  "-initrd",
                  machine.resolve("initrd.img").toString(),
                  "-append",
                  "root=/dev/vda rw console=ttyS0 quiet",
                  "-drive",
                  "file=" + temp.resolve("overlay.qcow2") + ",if=virtio,format=qcow2",
                  "-netdev",
                  "tap,id=n0,ifname=" + port.interfaceName() + ",script=no,downscript=no",
                  "-device",
                  "virtio-net-pci,netdev=n0,mac=" + port.mac())
              .redirectErrorStream(true)
              .redirectOutput(temp.resolve("qemu.log").toFile())
              .start();
      if (!qemu.waitFor(15, TimeUnit.MINUTES)) {
        fail(
            "the guest did not power off in 15 minutes; console:\n"
                + tail(temp.resolve("console.log")));
      }
      System.out.printf(
          "sample-debian: boot, DHCP, task, result and poweroff in %.1f s (TCG)%n",
          (System.nanoTime() - bootStart) / 1e9);
      String qemuLog = NetworkLab.readFile(temp.resolve("qemu.log"));
      assertTrue(
          qemu.exitValue() == 0 && !qemuLog.contains("terminating on signal"),
          "QEMU ended by the guest's poweroff, not killed: exit "
              + qemu.exitValue()
              + ", "
              + qemuLog);
      Path result = root.resolve("result.manifest");
      assertTrue(
          Files.exists(result),
          "no result.manifest; QEMU: "
              + NetworkLab.readFile(temp.resolve("qemu.log"))
              + "\nconsole:\n"
              + tail(temp.resolve("console.log")));
      String text = Files.readString(result);
      System.out.println(text);
      assertTrue(text.contains("status: success"), text);
      assertTrue(
          text.contains("inet " + port.addressText() + "/24"),
          "the address came from our DHCP: " + text);
      assertTrue(text.contains("\nactive\n"), text);
    } finally {
      if (qemu != null && qemu.isAlive()) {
        qemu.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      network.shutDown();
    }
    NetworkLab.assertNothingLeft();
  }

  private static String tail(Path file) {
    String text = NetworkLab.readFile(file);
    return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
  }
}
