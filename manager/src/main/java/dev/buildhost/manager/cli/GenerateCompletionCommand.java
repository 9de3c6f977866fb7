package dev.buildhost.manager.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code buildhost generate-completion}: prints the bash/zsh completion script (kept in
 * doc/cli/buildhost-completion.bash); hidden from the verb list.
 */
@Command(
    name = "generate-completion",
    hidden = true,
    description =
        "Prints the bash completion script of buildhost: source it, or put it in "
            + "/etc/bash_completion.d/buildhost.",
    footer = {"%nExample:", "  source <(buildhost generate-completion)", ExitCode.HELP})
final class GenerateCompletionCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(AutoComplete.bash("buildhost", spec.root().commandLine()));
    spec.commandLine().getOut().flush();
    return ExitCode.OK;
  }
}
