package dev.buildhost.it.support;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.io.IOException;
import java.time.Duration;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;

/**
 * Connections to the real daemons the integration tests run against. An unreachable daemon is a
 * {@link Requirement#unmet} (a failure under CI, a skip elsewhere) whose reason says what was tried
 * and how it failed.
 */
public final class Daemons {

  public static final String LIBVIRT_URI = "qemu:///system";

  private Daemons() {}

  /** An open connection to the system libvirtd; the caller closes it. */
  public static Connect libvirt() {
    Connect connect;
    try {
      connect = new Connect(LIBVIRT_URI);
    } catch (LibvirtException e) {
      return Requirement.unmet(
          "libvirtd is not reachable at " + LIBVIRT_URI + ": " + e.getMessage());
    } catch (LinkageError e) {
      return Requirement.unmet("libvirt's C library (libvirt0) cannot be loaded: " + e);
    }
    try {
      connect.getVersion();
      return connect;
    } catch (LibvirtException e) {
      closeQuietly(connect);
      return Requirement.unmet(
          "libvirtd at " + LIBVIRT_URI + " does not answer: " + e.getMessage());
    }
  }

  /** A client of the local Docker engine that answered a ping; the caller closes it. */
  public static DockerClient docker() {
    DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
    ZerodepDockerHttpClient http =
        new ZerodepDockerHttpClient.Builder()
            .dockerHost(config.getDockerHost())
            .sslConfig(config.getSSLConfig())
            .connectionTimeout(Duration.ofSeconds(5))
            .responseTimeout(Duration.ofMinutes(2))
            .build();
    DockerClient client = DockerClientImpl.getInstance(config, http);
    try {
      client.pingCmd().exec();
      return client;
    } catch (RuntimeException e) {
      try {
        client.close();
      } catch (IOException ignored) {
        // the engine is unreachable already; nothing more to release
      }
      return Requirement.unmet("dockerd is not reachable at " + config.getDockerHost() + ": " + e);
    }
  }

  /**
   * Removes the image tagged {@code tag} if it exists (images a test made for its own machines).
   */
  public static void removeImage(DockerClient docker, String tag) {
    try {
      docker.removeImageCmd(tag).withForce(true).exec();
    } catch (NotFoundException ignored) {
      // never loaded, or removed already
    }
  }

  private static void closeQuietly(Connect connect) {
    try {
      connect.close();
    } catch (LibvirtException ignored) {
      // the connection is unusable already
    }
  }
}
