package dev.buildhost.manager.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The table of verbs that lets a run build the model of its own verb alone. */
class BuildhostCommandTest {

  @Test
  void everyVerbIsListedUnderTheNameOfItsModel() {
    for (Map.Entry<String, Supplier<CommandLine>> verb : BuildhostCommand.VERBS.entrySet()) {
      assertEquals(verb.getKey(), verb.getValue().get().getCommandName(), verb.getKey());
    }
  }

  @Test
  void everyVerbHasTheHelpAndVersionOptions() {
    for (Map.Entry<String, Supplier<CommandLine>> verb : BuildhostCommand.VERBS.entrySet()) {
      CommandLine.Model.CommandSpec spec = verb.getValue().get().getCommandSpec();
      assertTrue(spec.findOption("--help").usageHelp(), verb.getKey());
      if (!verb.getKey().equals("help")) {
        assertTrue(spec.findOption("--version").versionHelp(), verb.getKey());
      }
    }
  }

  @Test
  void aParameterWithoutWhichAVerbCannotRunIsRequired() {
    for (Map.Entry<String, Supplier<CommandLine>> verb : BuildhostCommand.VERBS.entrySet()) {
      for (CommandLine.Model.PositionalParamSpec parameter :
          verb.getValue().get().getCommandSpec().positionalParameters()) {
        assertEquals(
            parameter.arity().min() > 0,
            parameter.required(),
            verb.getKey() + " " + parameter.paramLabel());
      }
    }
  }

  @Test
  void aVerbRunWithoutItsParameterIsBadUsageAndSaysWhich() {
    CommandLine cli = BuildhostCommand.commandLine(new String[] {"start"});
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    assertEquals(ExitCode.USAGE, cli.execute("start"));
    assertTrue(err.toString().startsWith("Missing required parameter: 'MACHINE'"), err.toString());
  }

  @Test
  void aRunThatNamesItsVerbBuildsThatVerbAlone() {
    CommandLine cli = BuildhostCommand.commandLine(new String[] {"instances", "--json"});
    assertEquals(List.of("instances"), List.copyOf(cli.getSubcommands().keySet()));
    assertTrue(
        cli.getSubcommands().get("instances").getCommandSpec().findOption("--help").usageHelp());
  }

  @Test
  void theVersionAloneBuildsNoVerbAndPrintsTheVersion() {
    for (String option : List.of("--version", "-V")) {
      CommandLine cli = BuildhostCommand.commandLine(new String[] {option});
      assertEquals(List.of(), List.copyOf(cli.getSubcommands().keySet()), option);
      StringWriter out = new StringWriter();
      cli.setOut(new PrintWriter(out));
      assertEquals(0, cli.execute(option));
      assertTrue(out.toString().startsWith("buildhost "), out.toString());
    }
  }

  @Test
  void helpAMistypedVerbOrNoVerbBuildEveryVerb() {
    for (String[] args :
        List.of(
            new String[] {},
            new String[] {"help"},
            new String[] {"instance"},
            new String[] {"--help"},
            new String[] {"--version", "list"},
            new String[] {"generate-completion"})) {
      assertEquals(
          List.copyOf(BuildhostCommand.VERBS.keySet()),
          List.copyOf(BuildhostCommand.commandLine(args).getSubcommands().keySet()),
          String.join(" ", args));
    }
  }

  @Test
  void theDaemonVerbAloneStillHasItsSettingFlags() {
    CommandLine daemon =
        BuildhostCommand.commandLine(new String[] {"daemon"}).getSubcommands().get("daemon");
    assertEquals("--root", daemon.getCommandSpec().findOption("--root").longestName());
  }
}
