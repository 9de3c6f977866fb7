package dev.buildhost.manager.instance;

import dev.buildhost.common.files.Trees;
import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.ManifestException;
import dev.buildhost.manager.machine.ManifestParser;
import dev.buildhost.manager.machine.ManifestRewrite;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.machine.RevisionName;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.manager.model.ManagerException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the kept disk of a stopped instance into a new revision folder of a machine, so that a
 * machine author can prepare a guest interactively and keep it: the instance's manifest copied (its
 * {@code name}, {@code disk} or {@code image} set to what the new folder holds), a VM's disk
 * flattened into a standalone qcow2 (the revision it ran on untouched) with its kernel and initrd
 * copied, a container's image saved as {@code image.tar}.
 *
 * <p>The revision is assembled in a hidden folder beside it ({@code
 * .<name>-<P>.<R>.publishing-<id>}, which the machine library ignores), made read-only and renamed
 * into place, so the library sees a whole revision or none; on failure the hidden folder is
 * removed. The service symlink {@code <name>-<P>} is left alone unless asked, then swapped by one
 * rename.
 */
final class RevisionPublisher {
  private static final Logger LOG = LoggerFactory.getLogger(RevisionPublisher.class);
  private static final String MANIFEST = "manifest";

  private final Path machinesDir;

  RevisionPublisher(Path machinesDir) {
    this.machinesDir = machinesDir;
  }

  /** Caller holds the instance's lock; one publish at a time. */
  synchronized PublishedRevision publish(TrackedInstance tracked, String target, boolean service) {
    RevisionName name;
    try {
      name = RevisionName.parse(target);
    } catch (IllegalArgumentException e) {
      throw new ManagerException(ManagerException.Kind.BAD_REQUEST, e.getMessage());
    }
    String id = tracked.id();
    KeptDisk kept = checkPublishable(tracked);
    Path machineDir = machinesDir.resolve(name.machine());
    Path folder = machineDir.resolve(name.folderName());
    if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
      throw new ManagerException(
          ManagerException.Kind.CONFLICT,
          "revision "
              + name.folderName()
              + " exists already ("
              + folder
              + "); a revision never changes: publish as a new one");
    }
    Path staging = machineDir.resolve("." + name.folderName() + ".publishing-" + id);
    try {
      Files.createDirectories(machineDir);
      deleteTree(staging);
      Files.createDirectories(staging);
      assemble(tracked, kept, name, staging);
      Trees.makeReadOnly(staging);
      Files.move(staging, folder, StandardCopyOption.ATOMIC_MOVE);
    } catch (BackendException | IOException | ManifestException e) {
      removeQuietly(staging);
      if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
        throw new ManagerException(
            ManagerException.Kind.CONFLICT,
            "revision " + name.folderName() + " was published by someone else meanwhile");
      }
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "cannot publish instance " + id + " as " + name.folderName() + ": " + e.getMessage(),
          e);
    } catch (RuntimeException e) {
      removeQuietly(staging);
      throw e;
    }
    LOG.info("instance {}: published as revision {} in {}", id, name.folderName(), folder);
    if (service) {
      putIntoService(name, machineDir, id);
    }
    return new PublishedRevision(name.machine(), name.version(), folder, service);
  }

  /** The instance's kept disk; CONFLICT naming what to do when there is none. */
  private static KeptDisk checkPublishable(TrackedInstance tracked) {
    String id = tracked.id();
    InstanceState state = tracked.state();
    if (state != InstanceState.STOPPED) {
      throw new ManagerException(
          ManagerException.Kind.CONFLICT,
          "instance "
              + id
              + " is "
              + state
              + ": only a stopped instance can be published; let it power off, or `buildhost"
              + " poweroff "
              + id
              + "`");
    }
    if (tracked.kept == null || tracked.keeper == null) {
      throw new ManagerException(
          ManagerException.Kind.CONFLICT,
          tracked.keep
              ? "instance " + id + " kept no disk: " + tracked.snapshot().message()
              : "instance "
                  + id
                  + " was not started with keep, so its disk was thrown away when it stopped:"
                  + " start the machine with `buildhost start --keep` (\"keep\": true) to publish"
                  + " what an instance did");
    }
    return tracked.kept;
  }

  private static void assemble(
      TrackedInstance tracked, KeptDisk kept, RevisionName name, Path staging)
      throws BackendException, IOException {
    Revision revision = tracked.revision;
    Manifest manifest = revision.manifest();
    String file = tracked.keeper.export(kept, staging);
    Map<String, String> values = new LinkedHashMap<>();
    values.put("name", name.machine());
    if (manifest.type() == MachineType.DOCKER) {
      values.put("image", file);
    } else {
      values.put("disk", file);
      for (String boot : new String[] {manifest.kernel(), manifest.initrd()}) {
        if (boot != null) {
          Files.copy(revision.file(boot), staging.resolve(boot));
        }
      }
    }
    Path source = revision.dir().resolve(MANIFEST);
    String text =
        ManifestRewrite.withValues(
            source, Files.readString(source, StandardCharsets.UTF_8), values);
    Path written = Files.writeString(staging.resolve(MANIFEST), text, StandardCharsets.UTF_8);
    ManifestParser.parse(written, name.machine());
  }

  /** Swaps the service symlink {@code <name>-<P>} to the new revision by one rename. */
  private static void putIntoService(RevisionName name, Path machineDir, String id) {
    Path link = machineDir.resolve(name.serviceLinkName());
    Path temporary = machineDir.resolve("." + name.serviceLinkName() + ".publishing-" + id);
    try {
      Files.deleteIfExists(temporary);
      Files.createSymbolicLink(temporary, Path.of(name.folderName()));
      Files.move(
          temporary, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      removeQuietly(temporary);
      throw new ManagerException(
          ManagerException.Kind.BACKEND_FAILED,
          "revision "
              + name.folderName()
              + " is published, but cannot be put into service ("
              + link
              + "): "
              + e.getMessage(),
          e);
    }
    LOG.info("{} now points at {}", link, name.folderName());
  }

  private static void deleteTree(Path tree) throws IOException {
    if (Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
      Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("rwx------"));
    }
    InstanceFiles.deleteTree(tree);
  }

  private static void removeQuietly(Path path) {
    try {
      deleteTree(path);
    } catch (IOException e) {
      LOG.warn("cannot remove {}: {}", path, e.toString());
    }
  }
}
