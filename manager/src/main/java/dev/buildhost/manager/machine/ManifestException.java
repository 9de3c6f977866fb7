package dev.buildhost.manager.machine;

import java.nio.file.Path;

/**
 * A machine manifest that cannot be used. The message always starts with the file, then the line
 * (when the problem has one) and the field (when it concerns one), compiler style:
 * {@code /build/machines/x/x-1.0/manifest:7: ram-minimum: '12Q' is not a size ...}.
 *
 * <p>Unchecked, like {@code ManagerException}: callers either show the message to an operator or
 * turn it into a problem entry of the machine listing.
 */
public class ManifestException extends RuntimeException {

  private final Path file;
  private final int line;
  private final String field;
  private final String problem;

  /**
   * @param file    the manifest file
   * @param line    1-based line number, or 0 when the problem has no line (e.g. unreadable file)
   * @param field   the manifest field concerned, or null for a syntax problem outside any field
   * @param problem what is wrong, without the file/line/field prefix
   */
  public ManifestException(Path file, int line, String field, String problem) {
    this(file, line, field, problem, null);
  }

  public ManifestException(Path file, int line, String field, String problem, Throwable cause) {
    super(format(file, line, field, problem), cause);
    this.file = file;
    this.line = line;
    this.field = field;
    this.problem = problem;
  }

  private static String format(Path file, int line, String field, String problem) {
    StringBuilder message = new StringBuilder().append(file);
    if (line > 0) {
      message.append(':').append(line);
    }
    message.append(": ");
    if (field != null) {
      message.append(field).append(": ");
    }
    return message.append(problem).toString();
  }

  public Path file() {
    return file;
  }

  /** 1-based line number, 0 when the problem has no line. */
  public int line() {
    return line;
  }

  /** The field concerned, or null. */
  public String field() {
    return field;
  }

  /** The problem without the file/line/field prefix. */
  public String problem() {
    return problem;
  }
}
