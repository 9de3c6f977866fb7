package dev.buildhost.manager.cli;

import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Command models built in code with picocli's programmatic API, for the top command and the client
 * verbs. picocli reads annotations through the JDK, which makes a proxy class per annotation type
 * at every start (JDK 17's class-data-sharing archive cannot hold them): for {@code instances} that
 * was about 40 ms of 0.29 s (bench/cli). The daemon's and the TFTP server's verbs, which run long,
 * keep their annotations.
 */
final class CommandSpecs {

  private CommandSpecs() {}

  /** A command whose user object is {@code command}: picocli calls it when the command runs. */
  static CommandSpec command(Object command, String name) {
    return CommandSpec.wrapWithoutInspection(command)
        .name(name)
        .versionProvider(new VersionProvider());
  }

  /**
   * The command line of a command built here, with the standard help options last (as picocli's
   * {@code mixinStandardHelpOptions} adds them, so that the completion script lists them last).
   */
  static CommandLine commandLine(CommandSpec spec) {
    spec.addOption(
        OptionSpec.builder("-h", "--help")
            .usageHelp(true)
            .description("Show this help message and exit.")
            .build());
    spec.addOption(
        OptionSpec.builder("-V", "--version")
            .versionHelp(true)
            .description("Print version information and exit.")
            .build());
    return new CommandLine(spec);
  }

  /**
   * Where picocli puts what it parsed for an option or parameter: it passes each value on to a
   * field of the command, and keeps it for picocli to read back (it adds a repeated option's values
   * to the list it set before).
   */
  static OptionSpec.Builder into(OptionSpec.Builder option, Consumer<Object> field) {
    Binding binding = new Binding(field);
    return option.getter(binding).setter(binding);
  }

  static PositionalParamSpec.Builder into(
      PositionalParamSpec.Builder parameter, Consumer<Object> field) {
    Binding binding = new Binding(field);
    return parameter.getter(binding).setter(binding);
  }

  private static final class Binding implements IGetter, ISetter {
    private final Consumer<Object> field;
    private Object value;

    private Binding(Consumer<Object> field) {
      this.field = field;
    }

    @Override
    // picocli reads back what it set, as the type it set (the signature is picocli's).
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"})
    public <T> T get() {
      return (T) value;
    }

    @Override
    public <T> T set(T value) {
      T previous = get();
      this.value = value;
      field.accept(value);
      return previous;
    }
  }
}
