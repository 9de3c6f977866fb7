package dev.buildhost.it.harness;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.Requirement;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.it.support.TestTftp;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves the VM half of the test harness without the manager: the bundled sample-vm boots under the
 * real libvirtd as a transient TCG domain, its worker fetches task.manifest from our TFTP server
 * through QEMU user networking (10.0.2.2 is the host's 127.0.0.1), runs the commands, uploads
 * result.manifest and powers the domain off.
 */
class SampleVmHarnessIT {

  private static final Logger LOG = LoggerFactory.getLogger(SampleVmHarnessIT.class);
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path work;

  @Test
  void sampleVmFetchesItsTaskRunsItAndUploadsTheResult() throws Exception {
    Path qemuImg = Requirement.command("qemu-img");
    Manifest machine = Samples.manifest(Samples.VM);
    Samples.passableByQemu(work);
    // libvirt makes the files it hands QEMU libvirt-qemu's, a backing disk for good: a copy
    // keeps the built sample as it is (the daemon tells libvirt to leave revisions alone).
    Path revision = Samples.copyOfRevision(Samples.VM, work.resolve("revision"));
    Path tftpRoot = Files.createDirectories(work.resolve("tftp"));
    TaskManifest.of("echo harness-$((6 * 7))", "cat /proc/cmdline").writeTo(tftpRoot);
    Path overlay = work.resolve("overlay.qcow2");
    Path console = work.resolve("console.log");
    String name = "buildhost-it-harness-" + UUID.randomUUID().toString().substring(0, 8);

    Connect libvirt = Daemons.libvirt();
    try (TftpServer tftp = TestTftp.writable(tftpRoot)) {
      run(
          List.of(
              qemuImg.toString(),
              "create",
              "-q",
              "-f",
              "qcow2",
              "-b",
              revision.resolve(machine.disk()).toString(),
              "-F",
              "qcow2",
              overlay.toString()));
      String cmdline = machine.cmdline() + " buildhost.tftp=10.0.2.2:" + tftp.port();
      long started = System.nanoTime();
      libvirt
          .domainCreateXML(domainXml(name, machine, revision, cmdline, overlay, console), 0)
          .free();
      try {
        if (!awaitGone(libvirt, name, BOOT_TIMEOUT)) {
          fail(
              "domain "
                  + name
                  + " still runs after "
                  + BOOT_TIMEOUT.toSeconds()
                  + " s; console:\n"
                  + consoleText(console));
        }
        LOG.info(
            "{}: create, boot, task, upload and power-off took {} ms",
            name,
            (System.nanoTime() - started) / 1_000_000);
      } finally {
        destroyIfPresent(libvirt, name);
      }

      ResultManifest result =
          ResultManifest.awaitIn(tftpRoot, Duration.ofSeconds(5))
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "the guest powered off without uploading "
                              + ResultManifest.FILE_NAME
                              + "; console:\n"
                              + consoleText(console)));
      assertEquals("success", result.status(), result::log);
      assertEquals(0, result.exitCode(), result::log);
      List<String> log = result.logLines();
      // The command's output, not its echo: the guest's shell did the arithmetic.
      assertTrue(
          log.contains("harness-42"), () -> "no 'harness-42' line in the log:\n" + result.log());
      // It ran inside the guest, which was told its endpoint on the kernel command line.
      assertTrue(
          log.stream().anyMatch(l -> l.contains("buildhost.tftp=10.0.2.2:" + tftp.port())),
          () -> "the guest's /proc/cmdline is not in the log:\n" + result.log());
      String consoleText = consoleText(console);
      assertTrue(
          consoleText.contains("buildhost-worker: uploaded result.manifest (status success"),
          () -> "the console does not show the upload:\n" + consoleText);
    } finally {
      destroyIfPresent(libvirt, name);
      Files.deleteIfExists(overlay);
      libvirt.close();
    }
  }

  private static String domainXml(
      String name, Manifest machine, Path revision, String cmdline, Path overlay, Path console) {
    long memoryMib = machine.ramMinimumMib() == null ? 256 : machine.ramMinimumMib();
    int cpus = machine.cpus() == null ? 1 : machine.cpus();
    return """
        <domain type='qemu'>
          <name>%s</name>
          <memory unit='MiB'>%d</memory>
          <vcpu>%d</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>%s</kernel>
            <initrd>%s</initrd>
            <cmdline>%s</cmdline>
          </os>
          <features><acpi/></features>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>destroy</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source file='%s'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <interface type='user'><model type='virtio'/></interface>
            <serial type='file'><source path='%s'/><target port='0'/></serial>
            <console type='file'><source path='%s'/><target type='serial' port='0'/></console>
          </devices>
        </domain>
        """
        .formatted(
            name,
            memoryMib,
            cpus,
            revision.resolve(machine.kernel()),
            revision.resolve(machine.initrd()),
            xmlText(cmdline),
            overlay,
            console,
            console);
  }

  private static String xmlText(String text) {
    return text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;");
  }

  /** Whether the transient domain disappeared (it does when the guest powers off) in time. */
  private static boolean awaitGone(Connect libvirt, String name, Duration timeout) {
    try {
      await("domain " + name + " gone")
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> lookup(libvirt, name) == null);
      return true;
    } catch (ConditionTimeoutException e) {
      return false;
    }
  }

  private static void destroyIfPresent(Connect libvirt, String name) throws LibvirtException {
    Domain domain = lookup(libvirt, name);
    if (domain != null) {
      try {
        domain.destroy();
      } catch (LibvirtException e) {
        if (lookup(libvirt, name) != null) {
          throw e; // still there: a leak the test must report
        }
      } finally {
        domain.free();
      }
    }
  }

  /** The domain, or null when libvirtd says there is none by that name. */
  private static Domain lookup(Connect libvirt, String name) throws LibvirtException {
    try {
      return libvirt.domainLookupByName(name);
    } catch (LibvirtException e) {
      if (e.getError().getCode() == Error.ErrorNumber.VIR_ERR_NO_DOMAIN) {
        return null;
      }
      throw e;
    }
  }

  private static String consoleText(Path console) {
    try {
      return Files.exists(console)
          ? Files.readString(console, StandardCharsets.UTF_8)
          : "(no console log)";
    } catch (IOException e) {
      return "(console log unreadable: " + e + ")";
    }
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      fail(String.join(" ", command) + " did not finish in 60 s");
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, process.exitValue(), () -> String.join(" ", command) + " failed:\n" + output);
  }
}
