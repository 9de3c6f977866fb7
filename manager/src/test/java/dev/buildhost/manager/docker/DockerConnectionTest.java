package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.buildhost.manager.docker.transport.UnixSocketTransport;
import org.junit.jupiter.api.Test;

/** Which transport the connection gives docker-java (no engine needed: nothing connects yet). */
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
}
