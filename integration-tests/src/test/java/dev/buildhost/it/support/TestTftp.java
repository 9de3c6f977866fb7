package dev.buildhost.it.support;

import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;

/** The project's own TFTP server as the tests use it: writable, on 127.0.0.1, a free port. */
public final class TestTftp {

  private TestTftp() {}

  /** Serves {@code root} (downloads and uploads) on 127.0.0.1; the caller closes it. */
  public static TftpServer writable(Path root) throws IOException {
    return TftpServer.builder(root)
        .bindAddress(InetAddress.getLoopbackAddress())
        .port(0)
        .writable(true)
        .build()
        .start();
  }
}
