package dev.buildhost.manager.machine;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A machine manifest that cannot be used. The message always starts with the file, then the line
 * (when the problem has one) and the field (when it concerns one), compiler style: {@code
 * /build/machines/x/x-1.0/manifest:7: ram-minimum: '12Q' is not a size ...}. When the fields have
 * several problems, the message has a line for each, in line order.
 *
 * <p>Unchecked, like {@code ManagerException}: callers either show the message to an operator or
 * turn it into a problem entry of the machine listing.
 */
public class ManifestException extends RuntimeException {

  private final Path file;
  private final int line;
  private final String field;
  private final String problem;
  private final List<ManifestException> problems;

  /**
   * @param file the manifest file
   * @param line 1-based line number, or 0 when the problem has no line (e.g. unreadable file)
   * @param field the manifest field concerned, or null for a syntax problem outside any field
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
    this.problems = List.of(this);
  }

  /**
   * All the problems found in one manifest, in line order: the first one's details, every message.
   */
  static ManifestException all(List<ManifestException> found) {
    List<ManifestException> sorted =
        found.stream().sorted(Comparator.comparingInt(ManifestException::line)).toList();
    return sorted.size() == 1 ? sorted.get(0) : new ManifestException(sorted);
  }

  private ManifestException(List<ManifestException> sorted) {
    super(sorted.stream().map(Throwable::getMessage).collect(Collectors.joining("\n")));
    ManifestException first = sorted.get(0);
    this.file = first.file;
    this.line = first.line;
    this.field = first.field;
    this.problem = first.problem;
    this.problems = sorted;
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

  /** The (first) problem without the file/line/field prefix. */
  public String problem() {
    return problem;
  }

  /**
   * Every problem found, each with its own file, line and field; this one alone when there is one.
   */
  public List<ManifestException> problems() {
    return problems;
  }
}
