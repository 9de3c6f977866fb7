package dev.buildhost.manager.libvirt;

import dev.buildhost.manager.backend.BackendException;
import java.util.List;
import java.util.Set;

/**
 * The manifest's {@code options} for a VM, restricted to a fixed list so that a machine manifest
 * can never pass arbitrary arguments, devices or host commands to QEMU. Accepted options (each a
 * word of the {@code options} field):
 *
 * <ul>
 *   <li>{@code machine=pc|q35}: the QEMU machine type (default {@code pc});
 *   <li>{@code nic-model=virtio|e1000|rtl8139}: the network card model (default {@code virtio});
 *   <li>{@code disk-bus=virtio|sata|ide}: how the disk is attached (default {@code virtio});
 *   <li>{@code virtio-rng}: a virtio random number generator fed by the host's /dev/urandom.
 * </ul>
 *
 * Anything else is refused with an error naming the option and listing what is accepted.
 *
 * @param machine QEMU machine type
 * @param nicModel network card model
 * @param diskBus disk bus
 * @param rng whether to add a virtio-rng device
 */
public record VmOptions(String machine, String nicModel, String diskBus, boolean rng) {
  public static final VmOptions DEFAULTS = new VmOptions("pc", "virtio", "virtio", false);

  private static final Set<String> MACHINES = Set.of("pc", "q35");
  private static final Set<String> NIC_MODELS = Set.of("virtio", "e1000", "rtl8139");
  private static final Set<String> DISK_BUSES = Set.of("virtio", "sata", "ide");
  static final String ACCEPTED =
      "machine=pc|q35, nic-model=virtio|e1000|rtl8139, disk-bus=virtio|sata|ide, virtio-rng";

  /** Parses the manifest's options; a null or empty list gives the defaults. */
  public static VmOptions parse(List<String> options) throws BackendException {
    VmOptions result = DEFAULTS;
    if (options == null) {
      return result;
    }
    for (String raw : options) {
      for (String option : raw.trim().split("\\s+")) {
        if (!option.isEmpty()) {
          result = result.with(option);
        }
      }
    }
    return result;
  }

  private VmOptions with(String option) throws BackendException {
    int eq = option.indexOf('=');
    String key = eq < 0 ? option : option.substring(0, eq);
    String value = eq < 0 ? null : option.substring(eq + 1);
    switch (key) {
      case "machine":
        return new VmOptions(checked(option, value, MACHINES), nicModel, diskBus, rng);
      case "nic-model":
        return new VmOptions(machine, checked(option, value, NIC_MODELS), diskBus, rng);
      case "disk-bus":
        return new VmOptions(machine, nicModel, checked(option, value, DISK_BUSES), rng);
      case "virtio-rng":
        if (value != null) {
          throw refused(option, "virtio-rng takes no value");
        }
        return new VmOptions(machine, nicModel, diskBus, true);
      default:
        throw refused(option, "unknown option");
    }
  }

  private static String checked(String option, String value, Set<String> allowed)
      throws BackendException {
    if (value == null || !allowed.contains(value)) {
      throw refused(
          option,
          "the value must be one of " + String.join("|", allowed.stream().sorted().toList()));
    }
    return value;
  }

  private static BackendException refused(String option, String why) {
    String shown = option.length() > 60 ? option.substring(0, 60) + "..." : option;
    return new BackendException(
        "manifest option '"
            + shown
            + "' is not accepted ("
            + why
            + "); VM manifests accept only: "
            + ACCEPTED);
  }
}
