package dev.buildhost.manager.machine;

import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code <P>.<R>} of a revision folder {@code <name>-<P>.<R>}: P is the major version (the
 * {@code <name>-<P>} symlink picks one revision of it), R the revision within it. Both are
 * non-negative integers without leading zeros, so each version has exactly one spelling.
 */
record RevisionVersion(int major, int revision) implements Comparable<RevisionVersion> {

  private static final String NUMBER = "(0|[1-9][0-9]{0,8})";
  private static final Pattern REVISION = Pattern.compile(NUMBER + "\\." + NUMBER);
  private static final Pattern MAJOR = Pattern.compile(NUMBER);

  private static final Comparator<RevisionVersion> ORDER =
      Comparator.comparingInt(RevisionVersion::major).thenComparingInt(RevisionVersion::revision);

  /** The version of a revision folder's suffix ("1.2"), if it is one. */
  static Optional<RevisionVersion> parse(String suffix) {
    Matcher m = REVISION.matcher(suffix);
    if (!m.matches()) {
      return Optional.empty();
    }
    return Optional.of(
        new RevisionVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))));
  }

  /** The major version of a service symlink's suffix ("1"), if it is one. */
  static Optional<Integer> parseMajor(String suffix) {
    return MAJOR.matcher(suffix).matches()
        ? Optional.of(Integer.parseInt(suffix))
        : Optional.empty();
  }

  @Override
  public int compareTo(RevisionVersion other) {
    return ORDER.compare(this, other);
  }

  @Override
  public String toString() {
    return major + "." + revision;
  }
}
