package dev.buildhost.manager.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiJson;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A verb that talks to the daemon through the API client alone: it finds the daemon and runs. What
 * the daemon refuses is thrown as it is; {@link ExitCode} (picocli's exception handler and
 * exit-code mapper, set by {@link BuildhostCommand#commandLine()}) prints it with its hint and
 * picks the documented exit code.
 */
abstract class ClientCommand implements Callable<Integer> {

  @Mixin ClientOptions options;

  @Spec CommandSpec spec;

  /** Does the verb's work; returns the exit code. */
  abstract int run(ApiClient client) throws Exception;

  @Override
  public final Integer call() throws Exception {
    return run(options.client());
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
