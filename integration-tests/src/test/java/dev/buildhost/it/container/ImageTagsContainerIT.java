package dev.buildhost.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.buildhost.it.support.Checksums;
import dev.buildhost.it.support.Daemons;
import dev.buildhost.manager.config.ManagerConfig;
import dev.buildhost.manager.docker.DockerBackend;
import dev.buildhost.manager.docker.ImageLoader;
import dev.buildhost.manager.machine.MachineLibrary;
import dev.buildhost.manager.machine.Revision;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A revision's image archive cannot name tags, and an image is ours by its id, not its labels; once
 * a revision's folder is deleted, the image this root loaded for it goes, and no other: against the
 * real dockerd, with images made here (no registry).
 *
 * <p>Machine B is a root file system machine; {@code victim} stands for a {@code debian:12} that
 * another machine's manifest names. Machine A's {@code docker save} archive is hostile: its
 * manifest.json tags its image as both, and its config carries B's labels.
 */
class ImageTagsContainerIT {

  private static DockerClient docker;

  @TempDir Path root;
  @TempDir Path otherRoot;

  private final List<String> imagesToRemove = new ArrayList<>();
  private final List<String> containersToRemove = new ArrayList<>();
  private final List<DockerBackend> backends = new ArrayList<>();
  private final String victim =
      "buildhost-it-victim-" + UUID.randomUUID().toString().substring(0, 8) + ":12";

  @BeforeAll
  static void connect() {
    docker = Daemons.docker();
  }

  @AfterAll
  static void disconnect() throws IOException {
    if (docker != null) {
      docker.close();
    }
  }

  @AfterEach
  void cleanUp() {
    backends.forEach(DockerBackend::close);
    for (String container : containersToRemove) {
      try {
        docker.removeContainerCmd(container).withForce(true).exec();
      } catch (NotFoundException ignored) {
        // removed by the test
      }
    }
    for (String image : imagesToRemove) {
      try {
        docker.removeImageCmd(image).withForce(true).exec();
      } catch (NotFoundException ignored) {
        // removed with another tag of the same image
      }
    }
  }

  private ImageLoader newLoader() {
    return backend(root).images();
  }

  private DockerBackend backend(Path on) {
    DockerBackend backend =
        new DockerBackend(ContainerFixtures.config(on, 4, Duration.ofSeconds(2)));
    backends.add(backend);
    return backend;
  }

  /** Machine B, a root file system tar, loaded as buildhost/b-...:1.0; returns its image id. */
  private String loadMachineB(Revision b, byte[] rootfs) throws Exception {
    ContainerFixtures.write(b.file("image.tar"), rootfs);
    imagesToRemove.add(ImageLoader.tagFor(b));
    String id = newLoader().ensure(b);
    assertEquals(id, docker.inspectImageCmd(ImageLoader.tagFor(b)).exec().getId());
    return id;
  }

  /** Machine A's hostile archive: its image tags itself as the victim and as B, with B's labels. */
  private Revision hostileMachineA(Revision b, byte[] bRootfs) throws Exception {
    Revision a = ContainerFixtures.ownMachine(root.resolve("machines"), "a", "image.tar", null);
    imagesToRemove.add(ImageLoader.tagFor(a));
    Map<String, String> bLabels =
        Map.of(
            ImageLoader.LABEL_SHA256,
            Checksums.sha256(bRootfs),
            DockerBackend.LABEL_MACHINE,
            b.machine(),
            DockerBackend.LABEL_REVISION,
            b.version());
    ContainerFixtures.write(
        a.file("image.tar"),
        hostileArchive(
            ContainerFixtures.busyboxRootfs(Map.of("etc/machine", "a, pretending\n")),
            bLabels,
            List.of(victim, ImageLoader.tagFor(b))));
    return a;
  }

  @Test
  void aHostileArchiveTagsNothingButItsOwnRevisionsTag() throws Exception {
    String victimId =
        importImage(
            ContainerFixtures.busyboxRootfs(Map.of("etc/victim", "the real one\n")), victim);
    imagesToRemove.add(victim);
    Revision b = ContainerFixtures.ownMachine(root.resolve("machines"), "b", "image.tar", null);
    byte[] bRootfs = ContainerFixtures.busyboxRootfs(Map.of("etc/machine", "b\n"));
    String bId = loadMachineB(b, bRootfs);
    Revision a = hostileMachineA(b, bRootfs);

    String aId = newLoader().ensure(a);
    imagesToRemove.add(aId);

    assertNotEquals(bId, aId);
    assertEquals(
        victimId, docker.inspectImageCmd(victim).exec().getId(), "the victim's tag was not moved");
    assertEquals(
        bId, docker.inspectImageCmd(ImageLoader.tagFor(b)).exec().getId(), "B's tag was not moved");
    assertEquals(
        List.of(ImageLoader.tagFor(a)),
        docker.inspectImageCmd(aId).exec().getRepoTags(),
        "A's image has the tag buildhost gave it, and no other");
  }

  @Test
  void aForgedTagOnAnImageWithTheRightLabelsIsNotTakenForOursAfterARestart() throws Exception {
    Revision b = ContainerFixtures.ownMachine(root.resolve("machines"), "b", "image.tar", null);
    byte[] bRootfs = ContainerFixtures.busyboxRootfs(Map.of("etc/machine", "b\n"));
    String bId = loadMachineB(b, bRootfs);
    // What an older version let A's archive do: `docker load` it as it is, tags and all.
    Revision a = hostileMachineA(b, bRootfs);
    imagesToRemove.add(victim);
    Process load =
        new ProcessBuilder("docker", "load", "-q", "-i", a.file("image.tar").toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(
        load.waitFor(60, TimeUnit.SECONDS) && load.exitValue() == 0, "docker load: " + output);
    String forgedId = docker.inspectImageCmd(ImageLoader.tagFor(b)).exec().getId();
    imagesToRemove.add(forgedId);
    assertNotEquals(bId, forgedId, "B's tag now points at A's image, which carries B's labels");

    ImageLoader restarted = newLoader();
    assertFalse(
        restarted.isLoaded(b),
        "a tag on an image with the right labels but the wrong id is not B's image");
    assertEquals(bId, restarted.ensure(b), "B's own image, by its id");
    assertEquals(bId, docker.inspectImageCmd(ImageLoader.tagFor(b)).exec().getId());
    assertTrue(restarted.isLoaded(b));
  }

  /** A machine of its own in {@code on}, its image loaded by {@code backend}; returns its tag. */
  private String loaded(DockerBackend backend, Path on, String what) throws Exception {
    Revision revision =
        ContainerFixtures.ownMachine(on.resolve("machines"), what, "image.tar", null);
    ContainerFixtures.write(
        revision.file("image.tar"),
        ContainerFixtures.busyboxRootfs(Map.of("etc/machine", what + "\n")));
    String tag = ImageLoader.tagFor(revision);
    imagesToRemove.add(tag);
    backend.images().ensure(revision);
    return tag;
  }

  private static List<String> leftoversRemoved(DockerBackend backend, Path on) throws Exception {
    return backend.removeLeftoversExcept(
        new MachineLibrary(on.resolve("machines")).revisionFolders());
  }

  private static void deleteMachine(Path on, String tag) throws IOException {
    String machine = tag.substring("buildhost/".length(), tag.indexOf(':'));
    try (Stream<Path> files = Files.walk(on.resolve("machines").resolve(machine))) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(file);
      }
    }
  }

  private static boolean exists(String image) {
    try {
      docker.inspectImageCmd(image).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  @Test
  void theImagesOfDeletedRevisionsThisRootLoadedGoAndNoOthers() throws Exception {
    DockerBackend backend = backend(root);
    String kept = loaded(backend, root, "kept");
    String deleted = loaded(backend, root, "deleted");
    DockerBackend other = backend(otherRoot);
    String othersDeleted = loaded(other, otherRoot, "others");
    deleteMachine(root, deleted);
    deleteMachine(otherRoot, othersDeleted);
    // a buildhost/ tag no revision of this root gives, which this root never loaded
    String byHand = "buildhost/it-by-hand:1.0";
    docker.tagImageCmd(kept, "buildhost/it-by-hand", "1.0").exec();
    imagesToRemove.add(byHand);

    assertEquals(List.of(deleted), leftoversRemoved(backend, root));

    assertEquals(false, exists(deleted), deleted);
    assertEquals(true, exists(kept), "its revision is still there: " + kept);
    assertEquals(true, exists(othersDeleted), "another root loaded it: " + othersDeleted);
    assertEquals(true, exists(byHand), "never loaded by this root: " + byHand);
    assertEquals(List.of(), leftoversRemoved(backend, root), "nothing left to remove");
    assertEquals(List.of(othersDeleted), leftoversRemoved(other, otherRoot));
  }

  @Test
  void anImageAContainerStillUsesStaysUntilTheContainerIsGone() throws Exception {
    DockerBackend backend = backend(root);
    String busy = loaded(backend, root, "busy");
    String container = docker.createContainerCmd(busy).withCmd("true").exec().getId();
    containersToRemove.add(container);
    deleteMachine(root, busy);

    assertEquals(List.of(), leftoversRemoved(backend, root));
    assertEquals(true, exists(busy), "a container uses it");

    docker.removeContainerCmd(container).exec();
    assertEquals(List.of(busy), leftoversRemoved(backend, root));
    assertEquals(false, exists(busy), busy);
  }

  @Test
  void whenDockerdDoesNotAnswerTheRemovalFailsSayingSoAndKeepsItsRecords() throws Exception {
    String image = loaded(backend(root), root, "unanswered");
    deleteMachine(root, image);
    ManagerConfig config = ContainerFixtures.config(root, 4, Duration.ofSeconds(2));
    DockerBackend unanswered =
        new DockerBackend(
            new ManagerConfig(
                config.root(),
                config.stateDir(),
                config.tftpPortFirst(),
                config.tftpPortLast(),
                config.maxInstances(),
                config.ramBudgetMib(),
                config.defaultTimeout(),
                config.poweroffGrace(),
                config.acceleration(),
                config.libvirtUri(),
                "unix://" + root.resolve("no-dockerd.sock"),
                config.dockerNetworkMode()));
    backends.add(unanswered);

    Exception failed = assertThrows(Exception.class, () -> leftoversRemoved(unanswered, root));

    assertTrue(failed.getMessage().contains("no-dockerd.sock"), failed.getMessage());
    assertTrue(exists(image), image);
    assertEquals(List.of(image), leftoversRemoved(backend(root), root), "the record was kept");
  }

  /** {@code docker import} of a root file system, as an operator makes a local image. */
  private String importImage(byte[] rootfs, String tag) throws Exception {
    Path file = root.resolve("victim-rootfs.tar");
    ContainerFixtures.write(file, rootfs);
    Process process =
        new ProcessBuilder("docker", "import", file.toString(), tag)
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "docker import did not finish");
    assertEquals(0, process.exitValue(), "docker import: " + output);
    return docker.inspectImageCmd(tag).exec().getId();
  }

  /** A well-formed docker save archive of one image whose manifest.json names {@code repoTags}. */
  private static byte[] hostileArchive(
      byte[] layer, Map<String, String> labels, List<String> repoTags) throws IOException {
    StringBuilder labelJson = new StringBuilder();
    labels.forEach(
        (key, value) ->
            labelJson
                .append(labelJson.length() == 0 ? "" : ",")
                .append('"')
                .append(key)
                .append("\":\"")
                .append(value)
                .append('"'));
    String config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{"
            + labelJson
            + "}},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
            + Checksums.sha256(layer)
            + "\"]}}";
    String configName = Checksums.sha256(config.getBytes(StandardCharsets.UTF_8)) + ".json";
    String layerDir = Checksums.sha256(layer);
    String tags = String.join("\",\"", repoTags);
    String manifest =
        "[{\"Config\":\""
            + configName
            + "\",\"RepoTags\":[\""
            + tags
            + "\"],\"Layers\":[\""
            + layerDir
            + "/layer.tar\"]}]";
    String repositories =
        "{\""
            + repoTags.get(0).substring(0, repoTags.get(0).indexOf(':'))
            + "\":{\"12\":\""
            + layerDir
            + "\"}}";
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      put(tar, layerDir + "/layer.tar", layer);
      put(tar, configName, config.getBytes(StandardCharsets.UTF_8));
      put(tar, "manifest.json", manifest.getBytes(StandardCharsets.UTF_8));
      put(tar, "repositories", repositories.getBytes(StandardCharsets.UTF_8));
    }
    return bytes.toByteArray();
  }

  private static void put(TarArchiveOutputStream tar, String name, byte[] content)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(content.length);
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }
}
