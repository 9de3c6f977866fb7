package dev.buildhost.manager.machine;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The capabilities and process counts a container's limits may name (manifest and settings). */
public final class ContainerCapabilities {
  /**
   * Docker's default capability set: the only ones a container may keep. Anything beyond
   * (SYS_ADMIN, NET_ADMIN...) would let a build reach out of its container or reconfigure its
   * network.
   */
  public static final List<String> ALLOWED =
      List.of(
          "AUDIT_WRITE",
          "CHOWN",
          "DAC_OVERRIDE",
          "FOWNER",
          "FSETID",
          "KILL",
          "MKNOD",
          "NET_BIND_SERVICE",
          "NET_RAW",
          "SETFCAP",
          "SETGID",
          "SETPCAP",
          "SETUID",
          "SYS_CHROOT");

  /** The kernel's own ceiling on process ids. */
  public static final long MAX_PIDS = 4_194_304;

  private ContainerCapabilities() {}

  /**
   * Capabilities written as {@code CHOWN, KILL} (commas or spaces; case and a {@code CAP_} prefix
   * do not matter) or {@code none}.
   *
   * @throws IllegalArgumentException naming the first one not in {@link #ALLOWED}
   */
  public static List<String> parse(String text) {
    String trimmed = text.strip();
    if (trimmed.equalsIgnoreCase("none")) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String word : trimmed.split("[,\\s]+")) {
      if (word.isEmpty()) {
        continue;
      }
      String name = word.toUpperCase(Locale.ROOT);
      if (name.startsWith("CAP_")) {
        name = name.substring(4);
      }
      if (!ALLOWED.contains(name)) {
        throw new IllegalArgumentException(
            "'"
                + word
                + "' is not a capability a container may keep (one of "
                + String.join(", ", ALLOWED)
                + ", or none)");
      }
      if (!names.contains(name)) {
        names.add(name);
      }
    }
    if (names.isEmpty()) {
      throw new IllegalArgumentException("no capability named: write 'none' to keep none");
    }
    return names;
  }
}
