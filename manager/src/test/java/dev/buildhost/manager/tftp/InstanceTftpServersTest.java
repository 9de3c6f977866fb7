package dev.buildhost.manager.tftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.config.UploadLimits;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.tftp.server.TftpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An instance's writable server with the shared read-only tree behind it, driven by a real client
 * (curl's tftp://): the instance reads its own folder and the shared tree, never another instance's
 * folder (not by name, not through a link), and writes only into its own folder.
 */
class InstanceTftpServersTest {
  private static final String OWN = "sample-vm-20261201-160000-aaaa";
  private static final String OTHER = "sample-vm-20261201-160000-bbbb";

  @TempDir Path dir;
  private Path shared;
  private Path own;
  private TftpServer server;
  private InstanceTftpServers servers;
  private int port;

  @BeforeEach
  void setUp() throws IOException {
    shared = dir.resolve("tftp");
    own = Files.createDirectories(shared.resolve(OWN));
    Path other = Files.createDirectories(shared.resolve(OTHER));
    Files.createDirectories(shared.resolve("toolchain"));
    Files.writeString(shared.resolve("toolchain/gcc.txt"), "gcc of the shared tree\n");
    Files.writeString(shared.resolve("top.txt"), "top of the shared tree\n");
    Files.writeString(shared.resolve("task.manifest"), "the shared tree's, not mine\n");
    Files.writeString(own.resolve("task.manifest"), "my task\n");
    Files.writeString(other.resolve("result.manifest"), "another instance's result\n");
    Files.createSymbolicLink(shared.resolve("sneaky"), Path.of(OTHER));
    Files.createSymbolicLink(
        shared.resolve("sneaky.txt"), Path.of(OTHER).resolve("result.manifest"));
    int first = 30000 + (int) (Math.random() * 20000);
    servers =
        new InstanceTftpServers(
            new TftpPortPool(first, first + 9),
            UploadLimits.DEFAULTS,
            InetAddress.getLoopbackAddress(),
            shared);
    server = servers.start(own, machineWithoutLimits(), event -> {});
    port = server.port();
  }

  /** A machine whose manifest sets no upload limits: the daemon's defaults apply. */
  private static Manifest machineWithoutLimits() {
    return new Manifest(
        null,
        "m",
        "s",
        MachineType.DOCKER,
        "build",
        null,
        null,
        null,
        null,
        List.of(),
        null,
        null,
        null,
        null,
        null,
        "img:1",
        null,
        null,
        null,
        null,
        null,
        null);
  }

  @AfterEach
  void tearDown() {
    if (server != null) {
      servers.stop(server, port);
    }
  }

  @Test
  void readsComeFromTheOwnFolderThenTheSharedTree() throws Exception {
    assertEquals("my task\n", get("task.manifest"));
    assertEquals("gcc of the shared tree\n", get("toolchain/gcc.txt"));
    assertEquals("top of the shared tree\n", get("top.txt"));
  }

  @Test
  void anotherInstancesFolderIsNeverReadThroughTheSharedTree() throws Exception {
    for (String name :
        List.of(
            OTHER + "/result.manifest",
            "sneaky/result.manifest",
            "sneaky.txt",
            OWN + "/task.manifest",
            "../tftp/" + OTHER + "/result.manifest")) {
      Curl read = curl("tftp://127.0.0.1:" + port + "/" + name, "-o", "-");
      assertNotEquals(0, read.exit(), name + " must not be readable: " + read.output());
      assertFalse(read.output().contains("another instance"), read.output());
    }
  }

  @Test
  void writesGoOnlyIntoTheOwnFolder() throws Exception {
    Path upload = dir.resolve("up.txt");
    Files.writeString(upload, "uploaded\n");
    assertEquals(0, curl("tftp://127.0.0.1:" + port + "/up.txt", "-T", upload.toString()).exit());
    assertEquals("uploaded\n", Files.readString(own.resolve("up.txt")));
    assertFalse(Files.exists(shared.resolve("up.txt")));

    Curl overShared =
        curl("tftp://127.0.0.1:" + port + "/toolchain/gcc.txt", "-T", upload.toString());
    assertNotEquals(0, overShared.exit(), "no writing into the shared tree: " + overShared);
    assertEquals("gcc of the shared tree\n", Files.readString(shared.resolve("toolchain/gcc.txt")));
    Curl intoOther =
        curl("tftp://127.0.0.1:" + port + "/" + OTHER + "/x.txt", "-T", upload.toString());
    assertNotEquals(0, intoOther.exit(), "no writing into another instance: " + intoOther);
    assertFalse(Files.exists(shared.resolve(OTHER).resolve("x.txt")));
  }

  @Test
  void aNewInstancesQuotaCountsOnlyWhatItsGuestUploadsAndAnAdoptedOnesCountsAll() throws Exception {
    int first = 30000 + (int) (Math.random() * 20000);
    InstanceTftpServers limited =
        new InstanceTftpServers(
            new TftpPortPool(first, first + 9),
            new UploadLimits(3000, 3000),
            InetAddress.getLoopbackAddress(),
            shared);
    Path folder = Files.createDirectories(shared.resolve("m-20261201-160000-cccc"));
    Files.write(folder.resolve("input.bin"), new byte[2500]); // the host's, through the API
    Path upload = Files.write(dir.resolve("result.bin"), new byte[2000]);

    TftpServer fresh = limited.start(folder, machineWithoutLimits(), event -> {});
    try {
      Curl stored =
          curl("tftp://127.0.0.1:" + fresh.port() + "/result.bin", "-T", upload.toString());
      assertEquals(0, stored.exit(), "2000 bytes of 3000, the host's 2500 not counted: " + stored);
    } finally {
      limited.stop(fresh, fresh.port());
    }

    // A restarted daemon cannot tell the host's files from the guest's: all count.
    TftpServer adopted = limited.adopt(folder, fresh.port(), machineWithoutLimits(), event -> {});
    try {
      Files.write(upload, new byte[100]);
      Curl refused =
          curl("tftp://127.0.0.1:" + adopted.port() + "/more.bin", "-T", upload.toString());
      assertNotEquals(0, refused.exit(), "4500 bytes are stored already: " + refused);
      assertFalse(Files.exists(folder.resolve("more.bin")));
    } finally {
      limited.stop(adopted, adopted.port());
      limited.close();
    }
  }

  @Test
  void instanceFoldersAreRecognisedByTheirIdShape() {
    assertTrue(InstanceTftpServers.isInstanceFolder(OTHER));
    assertFalse(InstanceTftpServers.isInstanceFolder("toolchain"));
  }

  private String get(String name) throws Exception {
    Curl read = curl("tftp://127.0.0.1:" + port + "/" + name, "-o", "-");
    assertEquals(0, read.exit(), name + ": " + read.output());
    return read.output();
  }

  private record Curl(int exit, String output) {}

  private static Curl curl(String url, String... args) throws Exception {
    List<String> command =
        new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "20", url));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "curl ended");
    return new Curl(process.exitValue(), output);
  }
}
