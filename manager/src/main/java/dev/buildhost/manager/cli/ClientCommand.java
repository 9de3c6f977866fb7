package dev.buildhost.manager.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.client.ApiJson;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A verb that talks to the daemon: finds it, runs, and turns the daemon's refusals into a
 * message with a hint on stderr and the documented exit code.
 */
abstract class ClientCommand implements Callable<Integer> {

  @Mixin
  ClientOptions options;

  @Spec
  CommandSpec spec;

  /** Does the verb's work; returns the exit code. */
  abstract int run(ApiClient client) throws Exception;

  @Override
  public final Integer call() throws Exception {
    try {
      return run(options.client());
    } catch (ApiClientException e) {
      PrintWriter err = err();
      err.println("buildhost " + spec.name() + ": " + e.getMessage());
      if (e.hint() != null) {
        err.println("  hint: " + e.hint());
      }
      err.flush();
      return ExitCode.of(e);
    } catch (UncheckedIOException e) {
      err().println("buildhost " + spec.name() + ": " + e.getMessage() + ": " + e.getCause().getMessage());
      err().flush();
      return ExitCode.FAILED;
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  boolean json() {
    return options.json;
  }

  void printJson(Object value) throws JsonProcessingException {
    out().println(ApiJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value));
    out().flush();
  }
}
