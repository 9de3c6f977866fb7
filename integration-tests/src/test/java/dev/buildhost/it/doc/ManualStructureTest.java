package dev.buildhost.it.doc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The manual's structure, checked without daemons: every shell block is either run by {@link
 * ManualIT} or listed here with the reason it is not; every page is linked from the index; every
 * relative link resolves; every page parses (no stray expected block, no unclosed fence).
 */
class ManualStructureTest {

  /**
   * The shell blocks the manual shows without running, by page and first line, with the reason. A
   * shown shell block missing from here fails {@link #everyShownShellBlockHasAReason()}, and so
   * does an entry whose block is gone.
   */
  static final Map<String, String> SHOWN_ONLY = union(shownOnlyOperations(), shownOnlyFarm());

  private static Map<String, String> union(Map<String, String> a, Map<String, String> b) {
    Map<String, String> all = new HashMap<>(a);
    all.putAll(b);
    return Map.copyOf(all);
  }

  /** Blocks that build, install or publish on a host. */
  private static Map<String, String> shownOnlyOperations() {
    return Map.of(
        "doc/README.md|scripts/host-setup                   # Debian packages (QEMU, libvirt, Docker, TFTP clients),",
        "the prerequisites the doc tests stand on: scripts/test runs host-setup, mvn package and build-samples "
            + "before the tests, and this test uses their output",
        "doc/README.md|mvn -B verify -pl integration-tests -am -Dit.test=ManualIT -Dtest='CliReferenceTest,ManualStructureTest' -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false",
        "runs this very test",
        "doc/cli.md|mvn -B -q -o -pl integration-tests -am test -Dtest=CliReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dbuildhost.doc.regenerate=true",
        "rewrites committed files; CliReferenceTest checks that they are current",
        "doc/operations.md|git clone <repository> /opt/buildhost && cd /opt/buildhost",
        "installs and enables system services (systemctl enable); the units' ExecStart lines are run by a block "
            + "before it and the units are checked with systemd-analyze verify",
        "doc/operations.md|mvn -B -q package -DskipTests                       # also builds the package",
        "installs the Debian package on the host; scripts/test-package builds, installs, runs and purges it",
        "doc/operations.md|apt-get install ./buildhost_NEWVERSION_all.deb",
        "upgrades the installed package; scripts/test-package upgrades it to a newer build",
        "doc/operations.md|apt-get remove buildhost   # stops and disables both services; keeps /etc/buildhost and "
            + "/state/buildhost",
        "removes the package from the host; scripts/test-package purges it and checks that nothing is left",
        "doc/host-image.md|# 1. the image, into the folder both servers serve",
        "builds an image for minutes and starts DHCP on a farm's network; HostImageIT runs the same steps on "
            + "a bridge of its own",
        "doc/host-image.md|scripts/test-host-image     # the package, the image (cached in /var/cache/buildhost), HostImageIT",
        "runs HostImageIT alone: two emulated boots, minutes; scripts/test runs it among the other tests");
  }

  /** Blocks that publish instances or set up a farm's etcd. */
  private static Map<String, String> shownOnlyFarm() {
    return Map.of(
        "doc/fleet.md|etcd --name m1 --data-dir /var/lib/etcd \\",
        "starts an etcd member on a farm's address; EtcdCluster starts three on loopback for the fleet tests",
        "doc/fleet.md|ETCDCTL_API=3 etcdctl --endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379 \\",
        "asks a farm's etcd cluster; EtcdClusterIT checks the leader of its own cluster",
        "doc/fleet.md|ETCDCTL_API=3 etcdctl --endpoints=... get --prefix /buildhost/default/hosts/ --keys-only",
        "reads a farm's host records; FleetRegistrationIT reads them from its own cluster");
  }

  private final Path repo = CliReference.repository();

  @Test
  void everyShownShellBlockHasAReason() throws IOException {
    Set<String> seen = new TreeSet<>();
    List<String> unlisted = new ArrayList<>();
    for (ManualPage page : ManualPage.all(repo)) {
      if (page.name().equals("README.md")) {
        continue; // the top README's blocks are an overview of what doc/ runs
      }
      for (ManualPage.Block block : page.shownShell()) {
        String key = page.name() + "|" + block.firstLine();
        seen.add(key);
        if (!SHOWN_ONLY.containsKey(key)) {
          unlisted.add(page.name() + ":" + block.line() + ": " + block.firstLine());
        }
      }
    }
    assertTrue(
        unlisted.isEmpty(),
        "shell blocks that are neither run ('sh test') nor in ManualStructureTest.SHOWN_ONLY "
            + "with a reason: "
            + unlisted);
    List<String> stale =
        SHOWN_ONLY.keySet().stream().filter(k -> !seen.contains(k)).sorted().toList();
    assertEquals(
        List.of(), stale, "ManualStructureTest.SHOWN_ONLY names blocks the manual no longer has");
  }

  @Test
  void everyPageOfTheManualIsLinkedFromItsIndex() throws IOException {
    String index = Files.readString(repo.resolve("doc/README.md"), StandardCharsets.UTF_8);
    List<String> unlinked = new ArrayList<>();
    try (Stream<Path> files = Files.list(repo.resolve("doc"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".md")).sorted().toList()) {
        String name = file.getFileName().toString();
        if (!name.equals("README.md") && !index.contains("(" + name + ")")) {
          unlinked.add(name);
        }
      }
    }
    assertEquals(List.of(), unlinked, "pages of doc/ that doc/README.md does not link");
  }

  @Test
  void everyRelativeLinkOfTheManualResolves() throws IOException {
    List<String> broken = new ArrayList<>();
    Pattern link = Pattern.compile("\\]\\(([^)#\\s]+)(#[^)]*)?\\)");
    for (ManualPage page : ManualPage.all(repo)) {
      Path file = repo.resolve(page.name());
      Matcher m = link.matcher(Files.readString(file, StandardCharsets.UTF_8));
      while (m.find()) {
        String target = m.group(1);
        if (!target.contains("://")
            && !target.startsWith("mailto:")
            && !Files.exists(file.getParent().resolve(target))) {
          broken.add(page.name() + " -> " + target);
        }
      }
    }
    assertEquals(List.of(), broken, "links of the manual to files that do not exist");
  }

  @Test
  void everyPageParsesAndHasRunnableExamples() throws IOException {
    List<String> withoutExamples = new ArrayList<>();
    for (ManualPage page : ManualPage.all(repo)) {
      if (page.name().startsWith("doc/")
          && page.runnable().isEmpty()
          && !NO_EXAMPLES.contains(page.name())) {
        withoutExamples.add(page.name());
      }
    }
    assertEquals(List.of(), withoutExamples, "pages of the manual without a single tested example");
  }

  /** api.md's endpoint table names every path and method of the OpenAPI description. */
  @Test
  void apiPageCoversEveryEndpointOfTheOpenApiDescription() throws IOException {
    String api = Files.readString(repo.resolve("doc/api.md"), StandardCharsets.UTF_8);
    List<String> missing = new ArrayList<>();
    String path = null;
    for (String line :
        Files.readAllLines(repo.resolve("doc/api/openapi.yaml"), StandardCharsets.UTF_8)) {
      Matcher pathLine = Pattern.compile("^  (/\\S*):\\s*$").matcher(line);
      Matcher methodLine = Pattern.compile("^    (get|put|post|delete|patch):").matcher(line);
      if (pathLine.matches()) {
        path = pathLine.group(1);
      } else if (methodLine.find() && path != null) {
        String endpoint = methodLine.group(1).toUpperCase(java.util.Locale.ROOT) + " " + path;
        if (!api.contains("`" + endpoint + "`")) {
          missing.add(endpoint);
        }
      }
    }
    assertEquals(
        List.of(), missing, "endpoints of doc/api/openapi.yaml missing from doc/api.md's table");
  }

  /** Pages that are prose only, or owned by another part of the project. */
  // network.md: the network is not wired into the daemon yet; BridgeNetworkIT tests what it
  // describes. host-image.md: its steps build images and netboot hosts; HostImageIT does them.
  private static final Set<String> NO_EXAMPLES =
      Set.of("doc/architecture.md", "doc/monitor.md", "doc/network.md", "doc/host-image.md");
}
