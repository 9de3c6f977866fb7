package dev.buildhost.monitor.trust;

import dev.buildhost.common.text.Texts;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What {@code toolchain_trust} pins: an OpenPGP public key file on this host (armored or binary, as
 * {@code gpg --export [--armor]} writes it), or the fingerprint of the primary key (40 hex digits
 * for a v4 key, 64 for v6; blanks and colons ignored), as Build OS pins a fingerprint on the kernel
 * command line. Exactly one of the two is set.
 */
public record PinnedKey(Path keyFile, String fingerprint) {

  /**
   * @throws IllegalArgumentException when the text is neither an absolute path nor a fingerprint
   */
  public static PinnedKey parse(String text) {
    String t = text.strip();
    if (t.startsWith("/")) {
      return new PinnedKey(Path.of(t).normalize(), null);
    }
    String hex = t.replaceAll("[\\s:]", "").toUpperCase(Locale.ROOT);
    if (hex.matches("[0-9A-F]{40}|[0-9A-F]{64}")) {
      return new PinnedKey(null, hex);
    }
    throw new IllegalArgumentException(
        "'"
            + Texts.shown(t)
            + "' is neither an absolute path to an OpenPGP public"
            + " key file nor an OpenPGP key fingerprint (40 or 64 hex digits)");
  }

  @Override
  public String toString() {
    return keyFile != null ? "the key in " + keyFile : "the key with fingerprint " + fingerprint;
  }
}
