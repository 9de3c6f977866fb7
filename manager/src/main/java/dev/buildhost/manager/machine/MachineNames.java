package dev.buildhost.manager.machine;

import java.util.regex.Pattern;

/**
 * The rule for machine names. A valid name is a single path component that cannot climb out of the
 * machines directory ({@code ..}, {@code /}, a leading dot are all impossible), so a name that
 * reached us through the API can be resolved against the directory safely.
 */
public final class MachineNames {

  public static final int MAX_LENGTH = 64;

  /** Human-readable form of the rule, for error messages. */
  public static final String RULE =
      "a letter or digit, then letters, digits, '.', '_' or '-', at most "
          + MAX_LENGTH
          + " characters, lower case";

  private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]*");

  private MachineNames() {}

  public static boolean isValid(String name) {
    return name != null && name.length() <= MAX_LENGTH && VALID.matcher(name).matches();
  }
}
