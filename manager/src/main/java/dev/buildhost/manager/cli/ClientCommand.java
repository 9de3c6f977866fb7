package dev.buildhost.manager.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiJson;
import dev.buildhost.client.DaemonEndpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * A verb that talks to the daemon through the API client alone: it finds the daemon and runs. What
 * the daemon refuses is thrown as it is; {@link ExitCode} (picocli's exception handler and
 * exit-code mapper, set by {@link BuildhostCommand#commandLine()}) prints it with its hint and
 * picks the documented exit code.
 *
 * <p>A verb declares its command line in its constructor, in code ({@link CommandSpecs} says why):
 * its description and footer, its options and parameters, each with the field it fills. The options
 * here (how to find the daemon, whether to print JSON) are every client verb's; they are not the
 * top command's, where {@code --root} would clash with the daemon's and the TFTP server's own.
 */
abstract class ClientCommand implements Callable<Integer> {

  final CommandSpec spec;
  private Path stateDir;
  private Path root;
  private boolean json;

  ClientCommand(String name) {
    spec = CommandSpecs.command(this, name);
    option(
        "--state-dir",
        "DIR",
        "the daemon's state folder (default: <root>/state with --root, else $"
            + DaemonEndpoint.STATE_DIR_ENV
            + ", else /state/buildhost)",
        Path.class,
        v -> stateDir = v);
    option(
        "--root",
        "DIR",
        "the daemon's storage root, to find its state folder",
        Path.class,
        v -> root = v);
    flag("--json", "print JSON for scripts instead of tables", v -> json = v);
  }

  /** The verb's description, a paragraph per line of the help. */
  final void description(String... paragraphs) {
    spec.usageMessage().description(paragraphs);
  }

  /** The help's last lines: examples, exit codes. */
  final void footer(String... lines) {
    spec.usageMessage().footer(lines);
  }

  /** An option without a value: {@code into} gets whether it was given. */
  final void flag(String name, String description, Consumer<Boolean> into) {
    flag(new String[] {name}, description, into);
  }

  final void flag(String[] names, String description, Consumer<Boolean> into) {
    spec.addOption(
        CommandSpecs.into(
                OptionSpec.builder(names).type(boolean.class).description(description),
                v -> into.accept(Boolean.TRUE.equals(v)))
            .build());
  }

  /** An option with a value; {@code into} gets null when it is not given. */
  final void option(String name, String paramLabel, String description, Consumer<String> into) {
    option(name, paramLabel, description, String.class, into);
  }

  /** An option with a value of {@code type}; {@code into} gets null when it is not given. */
  final <T> void option(
      String name, String paramLabel, String description, Class<T> type, Consumer<T> into) {
    spec.addOption(
        CommandSpecs.into(
                OptionSpec.builder(name).paramLabel(paramLabel).type(type).description(description),
                v -> into.accept(type.cast(v)))
            .build());
  }

  /** An option that may be given again and again; {@code into} gets the values in order. */
  final void repeatable(
      String[] names, String paramLabel, String description, Consumer<List<String>> into) {
    spec.addOption(
        CommandSpecs.into(
                OptionSpec.builder(names)
                    .paramLabel(paramLabel)
                    .type(List.class)
                    .auxiliaryTypes(String.class)
                    .description(description),
                v -> into.accept(strings(v)))
            .build());
  }

  /** The positional parameter at {@code index}, required. */
  final <T> void parameter(
      int index, String paramLabel, String description, Class<T> type, Consumer<T> into) {
    parameter(index, "1", paramLabel, description, type, into);
  }

  /** The positional parameter at {@code index}, with its arity ("0..1": optional). */
  final <T> void parameter(
      int index,
      String arity,
      String paramLabel,
      String description,
      Class<T> type,
      Consumer<T> into) {
    spec.addPositional(
        CommandSpecs.into(
                PositionalParamSpec.builder()
                    .index(Integer.toString(index))
                    .arity(arity)
                    .required(!arity.startsWith("0"))
                    .paramLabel(paramLabel)
                    .type(type)
                    .description(description),
                v -> into.accept(type.cast(v)))
            .build());
  }

  /** One or more positional parameters from the first on: {@code into} gets them in order. */
  final void parameters(String paramLabel, String description, Consumer<List<String>> into) {
    spec.addPositional(
        CommandSpecs.into(
                PositionalParamSpec.builder()
                    .index("0..*")
                    .arity("1..*")
                    .required(true)
                    .paramLabel(paramLabel)
                    .type(List.class)
                    .auxiliaryTypes(String.class)
                    .description(description),
                v -> into.accept(strings(v)))
            .build());
  }

  private static List<String> strings(Object values) {
    if (values == null) {
      return List.of();
    }
    return ((List<?>) values).stream().map(String.class::cast).toList();
  }

  /** Does the verb's work; returns the exit code. */
  abstract int run(ApiClient client) throws Exception;

  @Override
  public final Integer call() throws Exception {
    return run(ApiClient.forStateDir(stateDir()));
  }

  /**
   * The state folder: a flag given on the command line (--state-dir, else --root's) wins over
   * $BUILDHOST_STATE_DIR, which wins over the default root's ({@link DaemonEndpoint#stateDir}).
   */
  Path stateDir() {
    return DaemonEndpoint.stateDir(stateDir, root, System.getenv());
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  boolean json() {
    return json;
  }

  void printJson(Object value) throws JsonProcessingException {
    out().println(ApiJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value));
    out().flush();
  }
}
