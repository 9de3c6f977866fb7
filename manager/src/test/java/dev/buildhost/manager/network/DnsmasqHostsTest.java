package dev.buildhost.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hosts file a restarted daemon reads back; no dnsmasq is started here (BridgeNetworkIT starts
 * one).
 */
class DnsmasqHostsTest {
  @TempDir Path folder;

  @Test
  void theHostsALastDaemonLeftAreReadBackWithTheirInstances() throws Exception {
    Files.writeString(
        folder.resolve("dnsmasq.hosts"),
        """
        # buildhost: the guests of bridge buildhost0 (rewritten by the daemon)
        # instance vm-1
        02:00:00:00:00:01,196.254.111.10
        # instance ct-2
        02:00:00:00:00:02,196.254.111.11
        """);
    List<DhcpHost> hosts =
        new Dnsmasq(GuestNetwork.defaults(), folder, new HostCommands()).readHosts();
    assertEquals(2, hosts.size());
    assertEquals("vm-1", hosts.get(0).instanceId());
    assertEquals("02:00:00:00:00:02", hosts.get(1).mac().text());
    assertEquals("196.254.111.11", hosts.get(1).address().getHostAddress());
  }

  @Test
  void noFileIsNoHostsAndABrokenLineIsNamed() throws Exception {
    Dnsmasq dnsmasq = new Dnsmasq(GuestNetwork.defaults(), folder, new HostCommands());
    assertEquals(List.of(), dnsmasq.readHosts());
    Files.writeString(
        folder.resolve("dnsmasq.hosts"), "# instance vm-1\n02:00:00:00:00:01,not-an-address\n");
    NetworkException broken = assertThrows(NetworkException.class, dnsmasq::readHosts);
    assertTrue(
        broken.getMessage().startsWith(folder.resolve("dnsmasq.hosts") + " line 2: "),
        broken.getMessage());
    Files.writeString(
        folder.resolve("dnsmasq.hosts"), "# instance vm 1\n02:00:00:00:00:01,196.254.111.10\n");
    assertTrue(
        assertThrows(NetworkException.class, dnsmasq::readHosts)
            .getMessage()
            .contains("instance id 'vm 1'"));
  }

  @Test
  void aToolThatFailsOrIsMissingIsNamedWithItsOwnWords() {
    HostCommands commands = new HostCommands();
    NetworkException failed =
        assertThrows(
            NetworkException.class,
            () ->
                commands.run(
                    "list a file that is not there", List.of("ls", "/nonexistent-buildhost")));
    assertTrue(
        failed
            .getMessage()
            .startsWith(
                "cannot list a file that is not there: `ls /nonexistent-buildhost` "
                    + "exited with 2: "),
        failed.getMessage());
    assertTrue(failed.getMessage().contains("No such file"), failed.getMessage());
    NetworkException missing =
        assertThrows(
            NetworkException.class,
            () -> commands.run("run a tool", List.of("buildhost-no-such-tool")));
    assertTrue(
        missing.getMessage().startsWith("cannot run a tool: cannot run buildhost-no-such-tool"));
  }
}
