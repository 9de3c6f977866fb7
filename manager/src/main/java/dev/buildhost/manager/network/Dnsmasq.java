package dev.buildhost.manager.network;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The guest network's DHCP and DNS server: a dnsmasq of the daemon's own, on the bridge only,
 * answering DHCP only for the MACs in its hosts file (each always gets its guest's address) and DNS
 * only for the host's own name (no upstream servers). Its files (hosts, leases, PID, log) live in
 * the daemon's state folder; it is started, told to re-read its hosts (SIGHUP) and stopped by PID,
 * and a restarted daemon adopts the one its predecessor left running.
 */
public final class Dnsmasq {
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final String ENTRY_COMMENT = "# instance ";

  private final GuestNetwork network;
  private final Path folder;
  private final HostCommands commands;
  private long pid = -1;

  /**
   * {@code folder} holds its files; it is made when missing (mode as the parent's umask allows).
   */
  public Dnsmasq(GuestNetwork network, Path folder, HostCommands commands) {
    this.network = network;
    this.folder = folder;
    this.commands = commands;
  }

  public Path hostsFile() {
    return folder.resolve("dnsmasq.hosts");
  }

  public Path leasesFile() {
    return folder.resolve("dnsmasq.leases");
  }

  public Path pidFile() {
    return folder.resolve("dnsmasq.pid");
  }

  public Path logFile() {
    return folder.resolve("dnsmasq.log");
  }

  /** The running server's PID, or -1. */
  public long pid() {
    return pid;
  }

  /**
   * Adopts the dnsmasq that the PID file names when it is ours and alive (it keeps the hosts it
   * has), else starts one with {@code hosts}.
   */
  public void start(Collection<DhcpHost> hosts) throws NetworkException {
    prepareFolder();
    Optional<Long> running = runningPid();
    if (running.isPresent()) {
      pid = running.get();
      writeHosts(hosts);
      reload();
      return;
    }
    writeHosts(hosts);
    List<String> command =
        List.of(
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-hosts",
            "--no-resolv",
            // DNS on the bridge address: the host's own name, nothing else (no upstream server,
            // so guests cannot tunnel data out through lookups).
            "--port=53",
            "--host-record=" + hostName() + "," + network.hostAddress().getHostAddress(),
            "--interface=" + network.bridgeName(),
            "--except-interface=lo",
            "--bind-dynamic",
            "--dhcp-authoritative",
            "--dhcp-range="
                + network.subnet().substring(0, network.subnet().indexOf('/'))
                + ",static,"
                + network.netmask()
                + ",1h",
            "--dhcp-option=option:router," + network.hostAddress().getHostAddress(),
            "--dhcp-hostsfile=" + hostsFile(),
            "--dhcp-leasefile=" + leasesFile(),
            "--pid-file=",
            "--log-dhcp",
            "--log-facility=" + logFile());
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
              .start();
    } catch (IOException e) {
      throw new NetworkException(
          "cannot start dnsmasq for bridge "
              + network.bridgeName()
              + " (install dnsmasq-base): "
              + e.getMessage(),
          e);
    }
    try {
      // dnsmasq exits at once on a bad option or a taken port; give it that moment to say so.
      if (process.waitFor(300, TimeUnit.MILLISECONDS)) {
        throw new NetworkException(
            "dnsmasq for bridge "
                + network.bridgeName()
                + " exited with "
                + process.exitValue()
                + " at start: "
                + tail(logFile()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new NetworkException("interrupted while starting dnsmasq", e);
    }
    pid = process.pid();
    writeAtomically(pidFile(), pid + "\n");
  }

  /** This host's name (the kernel's), which guests resolve to the bridge address. */
  static String hostName() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8);
      if (!name.isBlank()) {
        return name.strip();
      }
    } catch (IOException e) {
      // not Linux: the JDK's view below
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "buildhost";
    }
  }

  /** Makes dnsmasq answer exactly {@code hosts} from now on. */
  public void updateHosts(Collection<DhcpHost> hosts) throws NetworkException {
    writeHosts(hosts);
    reload();
  }

  /** The hosts in the hosts file, as the last daemon left them (empty when there is none). */
  public List<DhcpHost> readHosts() throws NetworkException {
    Path file = hostsFile();
    if (!Files.exists(file)) {
      return List.of();
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new NetworkException("cannot read " + file + ": " + e.getMessage(), e);
    }
    List<DhcpHost> hosts = new ArrayList<>();
    String instance = null;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.startsWith(ENTRY_COMMENT)) {
        instance = line.substring(ENTRY_COMMENT.length()).strip();
      } else if (!line.isEmpty() && instance != null) {
        String[] fields = line.split(",");
        try {
          if (fields.length != 2) {
            throw new IllegalArgumentException("expected MAC,ADDRESS");
          }
          hosts.add(
              new DhcpHost(
                  instance, MacAddress.parse(fields[0], "MAC"), Ipv4.parse(fields[1], "address")));
        } catch (IllegalArgumentException e) {
          throw new NetworkException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
        }
        instance = null;
      }
    }
    return hosts;
  }

  /**
   * Stops it by PID (SIGTERM, then SIGKILL after a grace) and removes its PID file; stopped is
   * fine.
   */
  public void stop() throws NetworkException {
    long target = pid > 0 ? pid : runningPid().orElse(-1L);
    if (target > 0) {
      Optional<ProcessHandle> handle = ProcessHandle.of(target);
      if (handle.isPresent()) {
        handle.get().destroy();
        try {
          handle.get().onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          handle.get().destroyForcibly();
        } catch (java.util.concurrent.ExecutionException e) {
          throw new NetworkException(
              "cannot wait for dnsmasq " + target + " to end: " + e.getMessage(), e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new NetworkException("interrupted while stopping dnsmasq " + target, e);
        }
      }
    }
    pid = -1;
    try {
      Files.deleteIfExists(pidFile());
    } catch (IOException e) {
      throw new NetworkException("cannot remove " + pidFile() + ": " + e.getMessage(), e);
    }
  }

  /** The PID in the PID file when that process is alive and is this bridge's dnsmasq. */
  public Optional<Long> runningPid() throws NetworkException {
    Path file = pidFile();
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    long candidate;
    try {
      candidate = Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).strip());
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
    Path cmdline = Path.of("/proc", Long.toString(candidate), "cmdline");
    try {
      String args = Files.readString(cmdline, StandardCharsets.UTF_8);
      // A recycled PID belongs to something else: only ours names our hosts file.
      if (args.startsWith("dnsmasq\0") && args.contains("--dhcp-hostsfile=" + hostsFile() + "\0")) {
        return Optional.of(candidate);
      }
    } catch (IOException e) {
      // gone
    }
    return Optional.empty();
  }

  /**
   * dnsmasq drops root for its own unprivileged user before it reads the hosts file (at start and
   * on every SIGHUP), so that file (MACs and addresses, nothing secret) must be readable by anyone,
   * and every folder above it passable.
   */
  public void prepareFolder() throws NetworkException {
    try {
      Files.createDirectories(folder);
      Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xr-x"));
      for (Path dir = folder.toAbsolutePath().getParent(); dir != null; dir = dir.getParent()) {
        if (!Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          throw new NetworkException(
              "dnsmasq, which runs as an unprivileged user, cannot reach "
                  + hostsFile()
                  + " because "
                  + dir
                  + " is closed to others: give "
                  + dir
                  + " the mode o+x (chmod o+x "
                  + dir
                  + ") or choose another state folder");
        }
      }
    } catch (IOException e) {
      throw new NetworkException(
          "cannot prepare the network state folder " + folder + ": " + e.getMessage(), e);
    }
  }

  private void reload() throws NetworkException {
    if (pid > 0) {
      commands.run(
          "tell dnsmasq " + pid + " to re-read its hosts",
          List.of("kill", "-HUP", Long.toString(pid)));
    }
  }

  private void writeHosts(Collection<DhcpHost> hosts) throws NetworkException {
    StringBuilder text =
        new StringBuilder(
            "# buildhost: the guests of bridge "
                + network.bridgeName()
                + " (rewritten by the daemon)\n");
    for (DhcpHost host : hosts) {
      text.append(ENTRY_COMMENT)
          .append(host.instanceId())
          .append('\n')
          .append(host.mac())
          .append(',')
          .append(host.address().getHostAddress())
          .append('\n');
    }
    writeAtomically(hostsFile(), text.toString());
  }

  private static void writeAtomically(Path file, String text) throws NetworkException {
    Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
    try {
      Files.writeString(temp, text, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
      try {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new NetworkException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
