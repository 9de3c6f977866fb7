package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VmOptionsTest {
  @Test
  void noOptionsGiveTheDefaults() throws BackendException {
    assertEquals(VmOptions.DEFAULTS, VmOptions.parse(null));
    assertEquals(VmOptions.DEFAULTS, VmOptions.parse(List.of()));
    assertEquals(VmOptions.DEFAULTS, VmOptions.parse(List.of("  ")));
  }

  @Test
  void acceptedOptionsAreParsedFromWordsAndEntries() throws BackendException {
    assertEquals(
        new VmOptions("q35", "e1000", "ide", true),
        VmOptions.parse(List.of("machine=q35 nic-model=e1000", "disk-bus=ide", "virtio-rng")));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "-device",
        "-netdev user,hostfwd=tcp::22-:22",
        "machine=pc,accel=kvm",
        "machine=",
        "nic-model=vhost-user",
        "disk-bus=virtio;rm",
        "virtio-rng=yes",
        "chardev=socket",
        "-object memory-backend-file,mem-path=/etc",
        "qemu:commandline",
        "MACHINE=pc"
      })
  void everythingElseIsRefusedNamingTheOption(String option) {
    BackendException refused =
        assertThrows(BackendException.class, () -> VmOptions.parse(List.of(option)));
    String first = option.split("\\s+")[0];
    assertTrue(refused.getMessage().contains("'" + first + "'"), refused.getMessage());
    assertTrue(refused.getMessage().contains(VmOptions.ACCEPTED), refused.getMessage());
  }
}
