package dev.buildhost.it.container;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.buildhost.client.ApiClient;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.StartBody;
import dev.buildhost.it.support.DaemonJar;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.it.support.ResultManifest;
import dev.buildhost.it.support.Samples;
import dev.buildhost.it.support.TaskManifest;
import dev.buildhost.it.support.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon started as the package starts it ({@code java -jar}) runs a container task on an
 * engine it reaches over TCP with TLS and client certificates ({@code DOCKER_TLS_VERIFY}, {@code
 * DOCKER_CERT_PATH}, docker_host {@code tcp://}), although its jar's Class-Path leaves Bouncy
 * Castle out: docker-java reads the certificates with it, and the daemon appends it first
 * (OptionalLibraries). The engine is the host's, behind a TLS proxy of this test's on 127.0.0.1
 * that demands a client certificate of the test's CA.
 */
class DaemonJarDockerTlsIT {

  private static final Duration PATIENCE = Duration.ofMinutes(2);
  private static final Path DOCKER_SOCKET = Path.of("/var/run/docker.sock");

  @TempDir Path tmp;

  @Test
  void theDaemonJarRunsAContainerTaskOnAnEngineReachedOverTls() throws Exception {
    Path jar = DaemonJar.path();
    assertTrue(
        DaemonJar.attribute(jar, "Buildhost-Docker-Tls-Class-Path").stream()
            .anyMatch(p -> p.contains("bcpkix")));
    assertFalse(
        DaemonJar.attribute(jar, "Class-Path").stream()
            .anyMatch(p -> p.contains("bouncycastle") || p.contains("/bc")),
        "the daemon jar's Class-Path holds Bouncy Castle");
    try (DockerClient docker = Daemons.docker()) {
      docker.pingCmd().exec();
    }
    Path certs = tmp.resolve("certs");
    TestPki pki = certificates(certs);
    Path root = Files.createDirectories(tmp.resolve("root"));
    Samples.revision(Samples.CONTAINER);
    Samples.linkTree(
        Samples.machines().resolve(Samples.CONTAINER),
        root.resolve("machines").resolve(Samples.CONTAINER));
    try (TlsProxy engine = new TlsProxy(pki);
        DaemonJar.Running daemon =
            DaemonJar.start(
                jar,
                DaemonJar.Start.JAR,
                root,
                List.of(
                    "--tftp-listen",
                    "127.0.0.1:0",
                    "--docker-host",
                    "tcp://127.0.0.1:" + engine.port()),
                Map.of(
                    "DOCKER_TLS_VERIFY",
                    "1",
                    "DOCKER_CERT_PATH",
                    certs.resolve("client").toString()))) {
      ApiClient api = daemon.api();
      String task = TaskManifest.of("echo tls-$((6 * 7))").text();
      InstanceView started =
          api.start(
              new StartBody(
                  Samples.CONTAINER,
                  120L,
                  Map.of(
                      TaskManifest.FILE_NAME,
                      Base64.getEncoder().encodeToString(task.getBytes(StandardCharsets.UTF_8)))));
      InstanceView stopped =
          await("instance " + started.id() + " stopped")
              .atMost(PATIENCE)
              .pollInterval(Duration.ofMillis(250))
              .until(
                  () -> api.instance(started.id()), i -> i.state() == InstanceView.State.STOPPED);
      assertEquals(0, stopped.exitCode(), () -> stopped + "\n" + daemon.log());
      ResultManifest result =
          ResultManifest.read(
              root.resolve("tftp").resolve(started.id()).resolve(ResultManifest.FILE_NAME));
      assertEquals("success", result.status(), result::log);
      assertTrue(result.logLines().contains("tls-42"), result::log);
      assertTrue(engine.connections() > 0, "no connection came through the TLS proxy");
    } finally {
      try (DockerClient docker = Daemons.docker()) {
        for (Container left :
            docker
                .listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of("dev.buildhost.root", root.toString()))
                .exec()) {
          docker.removeContainerCmd(left.getId()).withForce(true).exec();
        }
      }
    }
  }

  /**
   * A CA, a server certificate for 127.0.0.1 and a client certificate; the client's in {@code
   * client/} under the names docker-java (and the docker CLI) look for in DOCKER_CERT_PATH.
   */
  private static TestPki certificates(Path dir) throws Exception {
    TestPki pki = TestPki.create(dir, "/CN=buildhost-test-ca");
    pki.certificate("server", "/CN=server", "subjectAltName=IP:127.0.0.1");
    pki.certificate("client", "/CN=client", "extendedKeyUsage=clientAuth");
    Path client = Files.createDirectories(dir.resolve("client"));
    Files.copy(pki.ca(), client.resolve("ca.pem"));
    Files.copy(pki.cert("client"), client.resolve("cert.pem"));
    Files.copy(pki.key("client"), client.resolve("key.pem"));
    return pki;
  }

  /**
   * A TLS server on 127.0.0.1 that demands a client certificate of the test's CA and passes each
   * connection on to the host's Docker engine socket.
   */
  private static final class TlsProxy implements AutoCloseable {
    private final SSLServerSocket server;
    private final AtomicInteger connections = new AtomicInteger();
    private final Thread acceptor;

    TlsProxy(TestPki pki) throws Exception {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(pki.pkcs12("server", "test"))) {
        keys.load(in, "test".toCharArray());
      }
      KeyManagerFactory keyManagers =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keyManagers.init(keys, "test".toCharArray());
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      try (InputStream in = Files.newInputStream(pki.ca())) {
        trusted.setCertificateEntry(
            "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory trustManagers =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trusted);
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
      server =
          (SSLServerSocket)
              tls.getServerSocketFactory()
                  .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      server.setNeedClientAuth(true);
      acceptor = new Thread(this::accept, "tls-proxy-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    int connections() {
      return connections.get();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket client = server.accept();
          SocketChannel engine = SocketChannel.open(UnixDomainSocketAddress.of(DOCKER_SOCKET));
          connections.incrementAndGet();
          // The channel's own read and write, not its streams: those share a lock, so a blocked
          // read would hold up every write.
          copy(
              () -> {
                InputStream in = client.getInputStream();
                byte[] bytes = new byte[16384];
                for (int n = in.read(bytes); n >= 0; n = in.read(bytes)) {
                  ByteBuffer chunk = ByteBuffer.wrap(bytes, 0, n);
                  while (chunk.hasRemaining()) {
                    engine.write(chunk);
                  }
                }
              },
              engine::shutdownOutput);
          copy(
              () -> {
                OutputStream out = client.getOutputStream();
                ByteBuffer chunk = ByteBuffer.allocate(16384);
                while (engine.read(chunk) >= 0) {
                  out.write(chunk.array(), 0, chunk.position());
                  out.flush();
                  chunk.clear();
                }
              },
              () -> {
                client.close();
                engine.close();
              });
        } catch (IOException e) {
          // closed, or a handshake that failed: the client sees its own error
        }
      }
    }

    private interface Step {
      void run() throws IOException;
    }

    private static void copy(Step copying, Step atEnd) {
      Thread copy =
          new Thread(
              () -> {
                try {
                  copying.run();
                } catch (IOException e) {
                  // the other side went away
                } finally {
                  try {
                    atEnd.run();
                  } catch (IOException e) {
                    // closed already
                  }
                }
              },
              "tls-proxy-copy");
      copy.setDaemon(true);
      copy.start();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
