package dev.buildhost.manager.daemon;

import dev.buildhost.manager.api.ApiServer;
import dev.buildhost.manager.config.Acceleration;
import dev.buildhost.manager.config.ManagerConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** In-process daemons on a temporary root for the API and CLI tests. */
public final class TestDaemons {

  /** The machine the {@link WorkerBackend} runs. */
  public static final String MACHINE = "fake-worker";

  private TestDaemons() {}

  /** A machine folder with one revision in service, {@code <name>-1 -> <name>-1.0}. */
  public static void addMachine(Path root, String name) throws IOException {
    Path machine = root.resolve("machines").resolve(name);
    Path revision = machine.resolve(name + "-1.0");
    Files.createDirectories(revision);
    Files.writeString(
        revision.resolve("manifest"),
        ": 1\nname: "
            + name
            + "\nsummary: a fake worker for tests\n"
            + "type: docker\nrole: build\nram-minimum: 64M\ncpus: 1\nimage: image.tar\n");
    Files.write(revision.resolve("image.tar"), new byte[0]);
    Files.createSymbolicLink(machine.resolve(name + "-1"), Path.of(name + "-1.0"));
  }

  /** Settings for {@code root}: API on a free port, TFTP read-only server off, small capacity. */
  public static DaemonSettings settings(Path root, int maxInstances) {
    int first = 30000 + (int) (Math.random() * 20000);
    ManagerConfig config =
        new ManagerConfig(
            root,
            root.resolve("state"),
            first,
            first + 19,
            maxInstances,
            1024,
            Duration.ofMinutes(5),
            Duration.ofSeconds(2),
            Acceleration.TCG,
            "test:///default",
            "unix:///nonexistent",
            "host");
    return new DaemonSettings(
        config, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null, false);
  }

  /** A daemon over {@link WorkerBackend} with the machine {@link #MACHINE}. */
  public static Daemon start(Path root, ApiServer.Limits limits) throws IOException {
    addMachine(root, MACHINE);
    return Daemon.start(settings(root, 4), config -> List.of(new WorkerBackend()), limits);
  }
}
