package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.LocalDirectorySSLConfig;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.transport.SSLConfig;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.buildhost.manager.docker.transport.UnixSocketTransport;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the connection gives docker-java: transport and settings (no engine needed: nothing
 * connects).
 */
class DockerConnectionTest {

  private static DockerHttpClient transportFor(String host) throws Exception {
    try (DockerHttpClient transport =
        DockerConnection.transportFor(
            DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build())) {
      return transport;
    }
  }

  @Test
  void aUnixSocketGetsTheJdksUnixDomainSocketsInsteadOfApacheHttpClient() throws Exception {
    assertInstanceOf(UnixSocketTransport.class, transportFor("unix:///var/run/docker.sock"));
  }

  @Test
  void aTcpEngineGetsTheHttpClientDockerJavaShips() throws Exception {
    assertInstanceOf(ZerodepDockerHttpClient.class, transportFor("tcp://127.0.0.1:2375"));
  }

  @Test
  void dockerJavasOwnTlsSettingsAreLeftOutForAUnixSocketAndKeptForTcp(@TempDir Path certs) {
    System.setProperty("DOCKER_TLS_VERIFY", "1");
    try {
      System.setProperty("DOCKER_CERT_PATH", certs.resolve("missing").toString());
      SSLConfig unix = DockerConnection.configFor("unix:///var/run/docker.sock").getSSLConfig();
      System.setProperty("DOCKER_CERT_PATH", certs.toString());
      SSLConfig tcp = DockerConnection.configFor("tcp://127.0.0.1:2376").getSSLConfig();

      // docker-java's LocalDirectorySSLConfig needs Bouncy Castle, which a lean daemon lacks.
      assertFalse(unix instanceof LocalDirectorySSLConfig, String.valueOf(unix));
      assertInstanceOf(LocalDirectorySSLConfig.class, tcp);
    } finally {
      System.clearProperty("DOCKER_TLS_VERIFY");
      System.clearProperty("DOCKER_CERT_PATH");
    }
  }
}
