package dev.buildhost.manager.bootstrap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.instance.EndHook;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What counts as a successful bootstrap. */
class BootstrapResultTest {

  @TempDir Path tftpDir;

  private EndHook.GuestEnd end(EndReason reason, Integer exitCode) {
    return new EndHook.GuestEnd(
        new LaunchSpec("vm-1", null, tftpDir, 10000), reason, exitCode, tftpDir, null);
  }

  private void result(String text) throws Exception {
    Files.writeString(tftpDir.resolve("result.manifest"), text);
  }

  @Test
  void aVmNeedsAResultManifestSayingSuccess() throws Exception {
    assertEquals(
        "the worker uploaded no result.manifest",
        BootstrapResult.failure(end(EndReason.POWEROFF, null), MachineType.KVM));
    result(": 1\nstatus: error\nexit-code: 2\n");
    assertEquals(
        "result.manifest says status: error",
        BootstrapResult.failure(end(EndReason.POWEROFF, null), MachineType.KVM));
    result(": 1\nexit-code: 0\n");
    assertEquals(
        "result.manifest has no status line",
        BootstrapResult.failure(end(EndReason.POWEROFF, null), MachineType.KVM));
    result(": 1\nstatus: success\nexit-code: 0\n");
    assertNull(BootstrapResult.failure(end(EndReason.POWEROFF, null), MachineType.KVM));
  }

  @Test
  void onlyItsOwnCleanEndCounts() throws Exception {
    result(": 1\nstatus: success\n");
    for (EndReason reason :
        new EndReason[] {EndReason.TIMEOUT, EndReason.TERMINATED, EndReason.CRASHED}) {
      assertEquals("it ended " + reason, BootstrapResult.failure(end(reason, 0), MachineType.KVM));
    }
  }

  @Test
  void aContainerNeedsExitCodeZero() throws Exception {
    assertNull(BootstrapResult.failure(end(EndReason.POWEROFF, 0), MachineType.DOCKER));
    assertEquals(
        "the container exited with code 3",
        BootstrapResult.failure(end(EndReason.POWEROFF, 3), MachineType.DOCKER));
    result(": 1\nstatus: abnormal\n");
    assertEquals(
        "result.manifest says status: abnormal",
        BootstrapResult.failure(end(EndReason.POWEROFF, 0), MachineType.DOCKER));
  }
}
