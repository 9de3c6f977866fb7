package dev.buildhost.manager.docker;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The container side of bootstrapped states: a stopped bootstrap container is committed to an image
 * of buildhost's own naming ({@code buildhost-kept/<machine>:<instance>}), labelled {@value
 * #LABEL_KEPT_FOR} with the storage root so that leftovers can be found and removed. Images are
 * read-only by nature: a build's container writes to its own layer.
 */
final class ContainerCommit {
  private static final Logger LOG = LoggerFactory.getLogger(ContainerCommit.class);

  /** Label of committed images: the storage root of the daemon that made them. */
  static final String LABEL_KEPT_FOR = "dev.buildhost.kept-for";

  static final String REPOSITORY_PREFIX = "buildhost-kept/";

  private final DockerConnection engine;
  private final String root;

  ContainerCommit(DockerConnection engine, String root) {
    this.engine = engine;
    this.root = root;
  }

  /** Commits the stopped container of {@code spec}; returns the image's id. */
  KeptDisk commit(LaunchSpec spec, Map<String, String> labels) throws BackendException {
    Map<String, String> all = new HashMap<>(labels);
    all.put(LABEL_KEPT_FOR, root);
    String container = DockerBackend.containerName(spec.instanceId());
    try {
      String image =
          engine
              .client()
              .commitCmd(container)
              .withRepository(
                  REPOSITORY_PREFIX + spec.revision().machine().toLowerCase(Locale.ROOT))
              .withTag(spec.instanceId().toLowerCase(Locale.ROOT))
              .withLabels(all)
              .withPause(false)
              .withMessage(
                  "kept from instance "
                      + spec.instanceId()
                      + " of "
                      + spec.revision().machine()
                      + " "
                      + spec.revision().version())
              .exec();
      LOG.info("instance {}: container committed to image {}", spec.instanceId(), image);
      return new KeptDisk(null, image);
    } catch (NotFoundException e) {
      throw new BackendException(
          "cannot commit container "
              + container
              + ": it is gone ("
              + DockerConnection.engineMessage(e)
              + ")",
          e);
    } catch (RuntimeException e) {
      throw engine.failure("cannot commit container " + container, e);
    }
  }

  /**
   * Saves a committed image as a {@code docker save} archive {@code target}; on failure nothing is
   * left behind.
   */
  void save(String image, Path target) throws BackendException {
    try (InputStream saved = engine.client().saveImageCmd(image).exec()) {
      Files.copy(saved, target);
    } catch (NotFoundException e) {
      throw new BackendException(
          "cannot save image " + image + ": it is gone (" + DockerConnection.engineMessage(e) + ")",
          e);
    } catch (IOException e) {
      deleteQuietly(target);
      throw new BackendException("cannot save image " + image + " into " + target + ": " + e, e);
    } catch (RuntimeException e) {
      deleteQuietly(target);
      throw engine.failure("cannot save image " + image, e);
    }
  }

  /** The committed image's size in the engine; 0 when it is gone or cannot be inspected. */
  long size(String image) {
    try {
      Long size = engine.client().inspectImageCmd(image).exec().getSize();
      return size == null ? 0 : size;
    } catch (NotFoundException e) {
      return 0;
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot inspect image {}: {}", image, e.getMessage());
      return 0;
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", file, e.toString());
    }
  }

  /**
   * Removes a committed image (and its tag). An image that also carries a tag outside {@value
   * #REPOSITORY_PREFIX} (a published revision loaded from the archive it was saved to has the same
   * id) keeps that tag and only loses its committed ones.
   */
  void remove(String image) {
    try {
      List<String> tags = engine.client().inspectImageCmd(image).exec().getRepoTags();
      List<String> kept =
          tags == null
              ? List.of()
              : tags.stream().filter(t -> t.startsWith(REPOSITORY_PREFIX)).toList();
      if (tags != null && kept.size() < tags.size()) {
        for (String tag : kept) {
          engine.client().removeImageCmd(tag).exec();
        }
        LOG.info("image {} stays for its other tags; its committed tags are removed", image);
        return;
      }
      engine.client().removeImageCmd(image).withForce(true).exec();
    } catch (NotFoundException e) {
      LOG.debug("image {} is gone already", image);
    } catch (ConflictException e) {
      LOG.info("image {} stays (in use): {}", image, DockerConnection.engineMessage(e));
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot remove image {}: {}", image, e.getMessage());
    }
  }

  /** Removes the images committed for this root that {@code inUse} does not list. */
  Set<String> removeExcept(Set<String> inUse) {
    Set<String> removed = new HashSet<>();
    try {
      for (Image image :
          engine.client().listImagesCmd().withLabelFilter(Map.of(LABEL_KEPT_FOR, root)).exec()) {
        if (!inUse.contains(image.getId())) {
          remove(image.getId());
          removed.add(image.getId());
        }
      }
    } catch (BackendException | RuntimeException e) {
      LOG.warn("cannot list the committed images: {}", e.getMessage());
    }
    return removed;
  }
}
