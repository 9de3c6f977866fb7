package dev.buildhost.manager.machine;

import java.util.Optional;

/**
 * The name of a revision folder, {@code <name>-<P>.<R>}, as a request gives it (to publish an
 * instance's disk as a new revision).
 *
 * @param machine the machine name
 * @param version {@code P.R}
 * @param major {@code P}: the service symlink {@code <name>-<P>} picks one revision of it
 */
public record RevisionName(String machine, String version, int major) {

  /** The folder's name. */
  public String folderName() {
    return machine + "-" + version;
  }

  /** The name of the service symlink of its major version. */
  public String serviceLinkName() {
    return machine + "-" + major;
  }

  /**
   * Parses {@code NAME-P.R}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static RevisionName parse(String text) {
    int dash = text == null ? -1 : text.lastIndexOf('-');
    if (dash <= 0) {
      throw new IllegalArgumentException(
          "'" + printable(text) + "' is not a revision name: give NAME-P.R, e.g. sample-vm-1.1");
    }
    String machine = text.substring(0, dash);
    Optional<RevisionVersion> version = RevisionVersion.parse(text.substring(dash + 1));
    if (version.isEmpty()) {
      throw new IllegalArgumentException(
          "'"
              + printable(text)
              + "' is not a revision name: after the last '-' comes P.R, two numbers without"
              + " leading zeros (e.g. sample-vm-1.1)");
    }
    if (!MachineNames.isValid(machine)) {
      throw new IllegalArgumentException(
          "'" + printable(machine) + "' is not a machine name: " + MachineNames.RULE);
    }
    return new RevisionName(machine, version.get().toString(), version.get().major());
  }

  private static String printable(String text) {
    if (text == null) {
      return "";
    }
    String cut = text.length() > 100 ? text.substring(0, 100) + "..." : text;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
