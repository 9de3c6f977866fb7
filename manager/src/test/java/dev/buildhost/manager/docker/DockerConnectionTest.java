package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.transport.SSLConfig;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/** The TLS settings the connection gives the transport (no engine needed). */
class DockerConnectionTest {

  private static DockerClientConfig configFor(String host) {
    return DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
  }

  @Test
  void aUnixSocketGetsItsOwnUnusedTlsContextSoThatTheJdksCertificatesAreNotRead() throws Exception {
    SSLConfig ssl = DockerConnection.sslConfig(configFor("unix:///var/run/docker.sock"));

    assertNotNull(ssl, "without one the transport builds the JDK's default context");
    SSLContext context = ssl.getSSLContext();
    assertEquals("TLS", context.getProtocol());
  }

  @Test
  void aTcpEngineWithoutTlsSettingsKeepsTheTransportsDefault() {
    assertNull(DockerConnection.sslConfig(configFor("tcp://127.0.0.1:2375")));
  }
}
