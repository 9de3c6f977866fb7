package dev.buildhost.it.doc;

import dev.buildhost.manager.cli.BuildhostCommand;
import dev.buildhost.monitor.MonitorCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Help.Ansi;

/**
 * Renders the CLI reference from the picocli models of {@code buildhost} and {@code buildhost
 * monitor}: the generated section of {@code doc/cli.md} and the man page {@code
 * doc/man/buildhost.1}. {@link CliReferenceTest} fails when the committed files differ from what
 * this renders; {@link #main} (or that test with {@code -Dbuildhost.doc.regenerate=true}) writes
 * them.
 */
public final class CliReference {

  static final String BEGIN =
      "<!-- BEGIN GENERATED CLI REFERENCE: do not edit; see 'Regenerating' above -->";
  static final String END = "<!-- END GENERATED CLI REFERENCE -->";
  static final String CLI_MD = "doc/cli.md";
  static final String MAN_PAGE = "doc/man/buildhost.1";

  /** Usage messages are rendered at this fixed width, whatever the terminal. */
  private static final int WIDTH = 100;

  /** One command of the reference: its full name ("buildhost list") and usage text. */
  record Entry(String name, String summary, String usage) {}

  private CliReference() {}

  /**
   * Every visible command: buildhost, its verbs in declaration order (each followed by its own
   * verbs), then the monitor.
   */
  static List<Entry> entries() {
    List<Entry> entries = new ArrayList<>();
    CommandLine root = BuildhostCommand.commandLine();
    entries.add(entry("buildhost", root));
    for (Map.Entry<String, CommandLine> sub : root.getSubcommands().entrySet()) {
      CommandLine command = sub.getValue();
      if (command.getCommandSpec().usageMessage().hidden() || sub.getKey().equals("help")) {
        continue;
      }
      entries.add(entry("buildhost " + sub.getKey(), command));
      // A verb's own verbs (buildhost fleet hosts) follow it.
      for (Map.Entry<String, CommandLine> nested : command.getSubcommands().entrySet()) {
        entries.add(entry("buildhost " + sub.getKey() + " " + nested.getKey(), nested.getValue()));
      }
    }
    entries.add(entry("buildhost monitor", MonitorCommand.commandLine()));
    return entries;
  }

  private static Entry entry(String name, CommandLine command) {
    command.setUsageHelpWidth(WIDTH);
    command.setUsageHelpAutoWidth(false);
    String[] description = command.getCommandSpec().usageMessage().description();
    String summary = description.length == 0 ? "" : firstSentence(description[0]);
    String usage = command.getUsageMessage(Ansi.OFF).replace("\r\n", "\n");
    return new Entry(name, summary, stripTrailingBlanks(usage));
  }

  /** The generated section of doc/cli.md, markers included. */
  static String markdownSection(List<Entry> entries) {
    StringBuilder out = new StringBuilder(BEGIN).append("\n\n");
    out.append("| command | what it does |\n|---|---|\n");
    for (Entry e : entries) {
      out.append("| [`")
          .append(e.name())
          .append("`](#")
          .append(anchor(e.name()))
          .append(") | ")
          .append(e.summary().replace("|", "\\|"))
          .append(" |\n");
    }
    for (Entry e : entries) {
      out.append("\n### ").append(e.name()).append("\n\n```text\n").append(e.usage());
      if (!e.usage().endsWith("\n")) {
        out.append('\n');
      }
      out.append("```\n");
    }
    return out.append('\n').append(END).toString();
  }

  /** doc/cli.md with its generated section replaced. */
  static String cliMarkdown(String current, List<Entry> entries) {
    int begin = current.indexOf(BEGIN);
    int end = current.indexOf(END);
    if (begin < 0 || end < begin) {
      throw new IllegalStateException(
          CLI_MD
              + " has lost its markers '"
              + BEGIN
              + "' and '"
              + END
              + "'; put them back where the generated reference belongs");
    }
    return current.substring(0, begin)
        + markdownSection(entries)
        + current.substring(end + END.length());
  }

  /** The man page, in troff (man macros). */
  static String manPage(List<Entry> entries) {
    StringBuilder out = new StringBuilder();
    out.append(
        ".\\\" Generated from the picocli models by dev.buildhost.it.doc.CliReference; do not edit.\n");
    out.append(".TH BUILDHOST 1 \"\" \"buildhost\" \"User Commands\"\n");
    out.append(".SH NAME\n");
    out.append("buildhost \\- build host: one-shot VMs and containers with a TFTP channel\n");
    out.append(".SH SYNOPSIS\n");
    out.append(".B buildhost\n.I COMMAND\n.RI [ OPTIONS ]\n");
    out.append(".SH DESCRIPTION\n");
    out.append(
        text(
            "buildhost keeps a library of build machines (QEMU/KVM virtual machines and Docker "
                + "containers), boots one-shot instances of them, and gives each instance its own writable TFTP port "
                + "and folder through which the worker inside downloads its task and uploads its result. "
                + "buildhost daemon runs the manager and its HTTP API; the other commands are clients of that API, "
                + "except buildhost tftp (a standalone TFTP server) and buildhost monitor (toolchain bootstrap and "
                + "reboot on change)."));
    out.append(".PP\n");
    out.append(
        text(
            "The client commands find the daemon through its state folder: --state-dir, else "
                + "$BUILDHOST_STATE_DIR, else the default of --root, else /state/buildhost."));
    out.append(".SH COMMANDS\n");
    for (Entry e : entries) {
      out.append(".SS ").append(escape(e.name())).append('\n');
      out.append(".nf\n");
      for (String line : e.usage().split("\n", -1)) {
        out.append(line.isEmpty() ? "" : "\\&" + escape(line)).append('\n');
      }
      out.append(".fi\n");
    }
    out.append(".SH ENVIRONMENT\n");
    out.append(".TP\n.B BUILDHOST_STATE_DIR\n");
    out.append(text("The daemon's state folder, for the client commands."));
    out.append(".TP\n.B BUILDHOST_JAVA_OPTS\n");
    out.append(text("Options for the Java virtual machine, e.g. -Xmx512m."));
    out.append(".SH FILES\n");
    out.append(".TP\n.I /build\n")
        .append(text("The default storage root: machines/, tftp/, instances/."));
    out.append(".TP\n.I /state/buildhost/api-token\n")
        .append(text("The API's bearer token, readable by its owner only."));
    out.append(".TP\n.I /state/buildhost/api.json\n")
        .append(text("The API's URL while the daemon runs."));
    out.append(".TP\n.I /etc/buildhost/daemon.conf\n")
        .append(text("The daemon's settings in the shipped systemd unit (key = value lines)."));
    out.append(".TP\n.I /etc/buildhost/monitor.conf\n")
        .append(text("The monitor's settings, when it exists."));
    out.append(".SH SEE ALSO\n");
    out.append(
        text(
            "The manual in the repository's doc/ folder: doc/README.md, doc/cli.md, doc/api.md, "
                + "doc/configuration.md, doc/operations.md. virsh(1), docker(1), tftp(1)."));
    return out.toString();
  }

  private static String firstSentence(String text) {
    int end = text.indexOf(". ");
    return end < 0 ? text : text.substring(0, end + 1);
  }

  private static String text(String paragraph) {
    return escape(paragraph) + "\n";
  }

  /** Escapes troff's backslash; a leading '.' or '\'' is neutralised by the caller's \&. */
  private static String escape(String line) {
    return line.replace("\\", "\\e");
  }

  private static String anchor(String heading) {
    return heading
        .toLowerCase(java.util.Locale.ROOT)
        .replaceAll("[^a-z0-9 -]", "")
        .replace(' ', '-');
  }

  private static String stripTrailingBlanks(String text) {
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      out.append(line.stripTrailing()).append('\n');
    }
    String joined = out.toString();
    while (joined.endsWith("\n\n")) {
      joined = joined.substring(0, joined.length() - 1);
    }
    return joined;
  }

  static Path repository() {
    String configured = System.getProperty("buildhost.repo");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("doc/cli.md"))
          && Files.isDirectory(dir.resolve("integration-tests"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository above "
            + Path.of("").toAbsolutePath()
            + "; set -Dbuildhost.repo");
  }

  /** Writes doc/cli.md's generated section and doc/man/buildhost.1; returns the files changed. */
  static List<Path> regenerate(Path repo) throws IOException {
    List<Entry> entries = entries();
    List<Path> changed = new ArrayList<>();
    Path cli = repo.resolve(CLI_MD);
    String current = Files.readString(cli, StandardCharsets.UTF_8);
    if (write(cli, current, cliMarkdown(current, entries))) {
      changed.add(cli);
    }
    Path man = repo.resolve(MAN_PAGE);
    String oldMan = Files.exists(man) ? Files.readString(man, StandardCharsets.UTF_8) : "";
    if (write(man, oldMan, manPage(entries))) {
      changed.add(man);
    }
    return changed;
  }

  private static boolean write(Path file, String old, String fresh) throws IOException {
    if (old.equals(fresh)) {
      return false;
    }
    Files.createDirectories(file.getParent());
    Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
    Files.writeString(temp, fresh, StandardCharsets.UTF_8);
    Files.move(
        temp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return true;
  }

  public static void main(String[] args) throws IOException {
    Path repo = args.length > 0 ? Path.of(args[0]) : repository();
    List<Path> changed = regenerate(repo);
    System.out.println(changed.isEmpty() ? "CLI reference up to date" : "rewrote " + changed);
  }
}
