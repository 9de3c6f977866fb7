package dev.buildhost.monitor.config;

/**
 * Kept for the monitor classes that still import it; the one implementation is {@link
 * dev.buildhost.common.text.Texts}, and they move to it when next edited.
 */
public final class Texts {
  private Texts() {}

  public static String shown(String s) {
    return dev.buildhost.common.text.Texts.shown(s);
  }
}
