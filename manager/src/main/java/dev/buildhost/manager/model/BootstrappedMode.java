package dev.buildhost.manager.model;

import java.util.Locale;

/** Whether a start uses the machine's bootstrapped state for the current toolchain. */
public enum BootstrappedMode {
  /** Use it when there is one, else start the bare revision. */
  AUTO,
  /** Use it; refuse (409) when there is none, so that the agent knows to bootstrap. */
  REQUIRED,
  /** Start the bare revision. */
  NEVER;

  /** The word the API and CLI use: auto, required, never. */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The mode a word names; null for a word that names none. */
  public static BootstrappedMode ofWord(String word) {
    for (BootstrappedMode mode : values()) {
      if (mode.word().equals(word)) {
        return mode;
      }
    }
    return null;
  }
}
