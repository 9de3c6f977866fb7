package dev.buildhost.tftp.cli;

import dev.buildhost.common.size.Sizes;
import dev.buildhost.tftp.net.Addresses;
import dev.buildhost.tftp.server.TftpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code buildhost tftp}: one TFTP server in the foreground until SIGINT or SIGTERM. */
@Command(
    name = "tftp",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a TFTP server in the foreground; stops cleanly on SIGINT/SIGTERM.",
      "Prints 'listening on ADDR:PORT' first, then one log line per transfer (stderr)."
    })
public final class TftpCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger("dev.buildhost.tftp");

  @Option(names = "--root", required = true, paramLabel = "DIR", description = "Folder to serve.")
  Path root;

  @Option(
      names = "--listen",
      paramLabel = "ADDR:PORT",
      defaultValue = "127.0.0.1:69",
      converter = ListenConverter.class,
      description =
          "Address and port to listen on; port 0 picks a free one (default: ${DEFAULT-VALUE}).")
  InetSocketAddress listen;

  @Option(names = "--writable", description = "Accept uploads (WRQ) into the root.")
  boolean writable;

  @Option(
      names = "--no-overwrite",
      description = "Refuse uploads that would replace an existing file.")
  boolean noOverwrite;

  @Option(
      names = "--quota",
      paramLabel = "SIZE",
      converter = SizeConverter.class,
      description = "Most bytes the root may hold after uploads (e.g. 512M, 2G).")
  Long quota;

  @Option(
      names = "--max-file-size",
      paramLabel = "SIZE",
      converter = SizeConverter.class,
      description = "Largest file an upload may write.")
  Long maxFileSize;

  @Option(
      names = "--max-blksize",
      paramLabel = "N",
      defaultValue = "65464",
      description = "Cap on the negotiated block size, 8-65464 (default: ${DEFAULT-VALUE}).")
  int maxBlockSize;

  @Option(
      names = "--max-windowsize",
      paramLabel = "N",
      defaultValue = "64",
      description = "Cap on the negotiated window size, 1-65535 (default: ${DEFAULT-VALUE}).")
  int maxWindowSize;

  @Option(
      names = "--max-transfers",
      paramLabel = "N",
      defaultValue = "64",
      description =
          "Concurrent transfers; more are refused with an ERROR (default: ${DEFAULT-VALUE}).")
  int maxTransfers;

  @Option(
      names = "--max-transfers-per-client",
      paramLabel = "N",
      description =
          "Concurrent transfers one client address may hold, 1 to --max-transfers "
              + "(default: three quarters of --max-transfers).")
  Integer maxTransfersPerClient;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "1",
      description =
          "Retransmission timeout unless the client negotiates one (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(
      names = "--max-timeout",
      paramLabel = "SECONDS",
      defaultValue = "10",
      description =
          "Largest timeout a client may negotiate, 1-255; a larger request is ignored "
              + "(default: ${DEFAULT-VALUE}).")
  int maxTimeoutSeconds;

  @Option(
      names = "--first-ack-timeout",
      paramLabel = "SECONDS",
      description =
          "How long a transfer waits for the client's first acknowledgement, at least --timeout "
              + "(default: twice --timeout).")
  Integer firstAckTimeoutSeconds;

  @Option(
      names = "--retries",
      paramLabel = "N",
      defaultValue = "5",
      description = "Retransmissions before a transfer is given up (default: ${DEFAULT-VALUE}).")
  int retries;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    checkRange("--max-timeout", maxTimeoutSeconds, 1, 255);
    if (maxTransfersPerClient != null) {
      checkRange("--max-transfers-per-client", maxTransfersPerClient, 1, Math.max(1, maxTransfers));
    }
    if (firstAckTimeoutSeconds != null) {
      checkRange(
          "--first-ack-timeout",
          firstAckTimeoutSeconds,
          Math.max(1, timeoutSeconds),
          Integer.MAX_VALUE);
    }
    TftpServer.Builder builder;
    try {
      builder =
          TftpServer.builder(root)
              .bindAddress(listen.getAddress())
              .port(listen.getPort())
              .writable(writable)
              .allowOverwrite(!noOverwrite)
              .maxBlockSize(maxBlockSize)
              .maxWindowSize(maxWindowSize)
              .maxTransfers(maxTransfers)
              .timeout(Duration.ofSeconds(timeoutSeconds))
              .maxTimeoutSeconds(maxTimeoutSeconds)
              .maxRetries(retries);
      if (maxTransfersPerClient != null) {
        builder.maxTransfersPerClient(maxTransfersPerClient);
      }
      if (firstAckTimeoutSeconds != null) {
        builder.firstAckTimeout(Duration.ofSeconds(firstAckTimeoutSeconds));
      }
      if (quota != null) {
        builder.quotaBytes(quota);
      }
      if (maxFileSize != null) {
        builder.maxFileSizeBytes(maxFileSize);
      }
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    TftpServer server;
    try {
      server = builder.build().start();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    } catch (java.io.IOException e) {
      spec.commandLine().getErr().println("buildhost tftp: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  LOG.info("TFTP server on {} stopped", Addresses.hostPort(server.localAddress()));
                  stopped.countDown();
                },
                "tftp-shutdown"));
    System.out.println("listening on " + Addresses.hostPort(server.localAddress()));
    System.out.flush();
    LOG.info(
        "serving {} ({}{})",
        server.root(),
        writable ? "writable" : "read-only",
        quota != null ? ", quota " + quota + " bytes" : "");
    stopped.await();
    return 0;
  }

  private void checkRange(String option, int value, int min, int max) {
    if (value < min || value > max) {
      String range = max == Integer.MAX_VALUE ? "at least " + min : "within " + min + "-" + max;
      throw new CommandLine.ParameterException(
          spec.commandLine(), option + " must be " + range + ", not " + value);
    }
  }

  /** Runs the command on its own (bin/buildhost runs it as a subcommand). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new TftpCommand()).execute(args));
  }

  /** ADDR:PORT, [IPv6]:PORT, or :PORT (loopback). */
  static final class ListenConverter implements CommandLine.ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String value) throws Exception {
      int colon = value.lastIndexOf(':');
      if (colon < 0) {
        throw new CommandLine.TypeConversionException("expected ADDR:PORT, got '" + value + "'");
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("port is not a number in '" + value + "'");
      }
      if (port < 0 || port > 65535) {
        throw new CommandLine.TypeConversionException(
            "port must be within 0-65535 in '" + value + "'");
      }
      try {
        InetAddress address =
            host.isEmpty() ? InetAddress.getLoopbackAddress() : InetAddress.getByName(host);
        return new InetSocketAddress(address, port);
      } catch (UnknownHostException e) {
        throw new CommandLine.TypeConversionException("unknown address '" + host + "'");
      }
    }
  }

  /** A byte count as {@link Sizes} reads it: {@code 1000}, {@code 512k}, {@code 3GiB}. */
  static final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      try {
        return Sizes.parseBytes(value, Sizes.Unit.BYTES);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
