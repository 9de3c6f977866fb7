package dev.buildhost.manager.cli;

import dev.buildhost.client.ApiClient;
import dev.buildhost.client.ApiClientException;
import dev.buildhost.common.files.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The verbs that move bytes: copy-to, copy-from, logs. */
final class FileCommands {

  private FileCommands() {}

  static ApiClientException broken(IOException e) {
    return new ApiClientException(
        ApiClientException.UNREACHABLE,
        "the transfer from the daemon broke off: " + e.getMessage(),
        "check that the daemon still runs, then try again");
  }

  static final class CopyTo extends ClientCommand {
    String id;

    Path source;

    String target;

    CopyTo() {
      super("copy-to");
      description(
          "Copies a local file into an instance's folder (where its worker fetches it over TFTP).");
      footer(
          "%nExample:",
          "  buildhost copy-to sample-vm-20260101-120000-1a2b ./task.manifest task.manifest",
          ExitCode.HELP);
      parameter(0, "ID", "the instance", String.class, v -> id = v);
      parameter(1, "SRC", "the local file", Path.class, v -> source = v);
      parameter(
          2,
          "0..1",
          "DST",
          "its name in the instance folder (default: SRC's file name)",
          String.class,
          v -> target = v);
    }

    @Override
    int run(ApiClient client) throws Exception {
      if (!Files.isRegularFile(source) || !Files.isReadable(source)) {
        err().println("buildhost copy-to: " + source + " is not a readable file");
        err().flush();
        return ExitCode.USAGE;
      }
      String name = target != null ? target : source.getFileName().toString();
      client.putFile(id, name, source);
      if (json()) {
        printJson(Map.of("id", id, "name", name, "size", Files.size(source)));
      } else {
        out().printf("%s -> %s:%s (%d bytes)%n", source, id, name, Files.size(source));
        out().flush();
      }
      return ExitCode.OK;
    }
  }

  static final class CopyFrom extends ClientCommand {
    String id;

    String source;

    String target;

    CopyFrom() {
      super("copy-from");
      description("Copies a file out of an instance's folder (e.g. the worker's result.manifest).");
      footer(
          "%nExample:",
          "  buildhost copy-from sample-vm-20260101-120000-1a2b result.manifest -", ExitCode.HELP);
      parameter(0, "ID", "the instance", String.class, v -> id = v);
      parameter(1, "SRC", "the file's name in the instance folder", String.class, v -> source = v);
      parameter(
          2,
          "0..1",
          "DST",
          "where to write it: a file, a folder, or - for standard output (default: SRC in the "
              + "current folder)",
          String.class,
          v -> target = v);
    }

    @Override
    int run(ApiClient client) throws Exception {
      if ("-".equals(target)) {
        try (InputStream in = client.openFile(id, source)) {
          in.transferTo(System.out);
          System.out.flush();
        } catch (IOException e) {
          throw broken(e);
        }
        return ExitCode.OK;
      }
      Path destination = Path.of(target == null ? source : target);
      if (Files.isDirectory(destination)) {
        destination = destination.resolve(source);
      }
      Path absolute = destination.toAbsolutePath();
      // A broken download must not leave half a result.manifest where a script looks for one.
      try (InputStream in = client.openFile(id, source)) {
        AtomicFiles.write(absolute, in::transferTo);
      } catch (IOException e) {
        throw broken(e);
      }
      if (json()) {
        printJson(
            Map.of(
                "id",
                id,
                "name",
                source,
                "path",
                absolute.toString(),
                "size",
                Files.size(absolute)));
      } else {
        out().printf("%s:%s -> %s (%d bytes)%n", id, source, destination, Files.size(absolute));
        out().flush();
      }
      return ExitCode.OK;
    }
  }

  static final class Logs extends ClientCommand {
    String id;

    boolean follow;

    Logs() {
      super("logs");
      description("Prints an instance's console log (VM serial console or container output).");
      footer("%nExample:", "  buildhost logs -f sample-vm-20260101-120000-1a2b", ExitCode.HELP);
      parameter(0, "ID", "the instance", String.class, v -> id = v);
      flag(
          new String[] {"-f", "--follow"},
          "go on printing until the instance stops",
          v -> follow = v);
    }

    @Override
    int run(ApiClient client) {
      try (Reader in =
          new InputStreamReader(client.openConsole(id, follow), StandardCharsets.UTF_8)) {
        char[] buffer = new char[8192];
        int n;
        while ((n = in.read(buffer)) >= 0) {
          out().write(buffer, 0, n);
          out().flush();
        }
      } catch (IOException e) {
        throw broken(e);
      }
      return ExitCode.OK;
    }
  }
}
