package dev.buildhost.manager.machine;

import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.ManagerException.Kind;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The machines under {@code <root>/machines}:
 *
 * <pre>
 * &lt;machinesDir&gt;/&lt;name&gt;/&lt;name&gt;-&lt;P&gt;.&lt;R&gt;/manifest   a revision (read-only)
 * &lt;machinesDir&gt;/&lt;name&gt;/&lt;name&gt;-&lt;P&gt;                 symlink to the revision in service
 * </pre>
 *
 * <p>Nothing is cached: every call lists the folders again, so added revisions and symlink swaps
 * are seen at once without a restart. A {@link Revision} carries the real path of its folder, so an
 * instance started from it keeps using that folder after the symlink moves on.
 *
 * <p>When a machine has several major versions, the highest {@code <name>-<P>} symlink that
 * resolves to one of the machine's revision folders picks the revision in service; a dangling or
 * misdirected higher link is reported as a problem and passed over. A broken manifest in the chosen
 * revision does not fall back to another major version (that may be incompatible): the machine then
 * has no revision in service until it is fixed.
 *
 * <p>Problems (a broken manifest, a stray file, a dangling link) are reported per machine and never
 * hide the other machines.
 */
public final class MachineLibrary {

  private final Path machinesDir;

  public MachineLibrary(Path machinesDir) {
    this.machinesDir = machinesDir;
  }

  public Path machinesDir() {
    return machinesDir;
  }

  /**
   * Every machine, sorted by name, with its valid revisions, the revision in service and the
   * problems found. A missing machines directory is an empty library.
   */
  public List<Machine> machines() {
    TreeMap<String, Machine> machines = new TreeMap<>();
    for (Path entry : entries()) {
      String name = entry.getFileName().toString();
      machines.put(name, scan(name, entry));
    }
    return List.copyOf(machines.values());
  }

  /**
   * Every revision folder of every machine, whether its manifest is valid or not: the revisions
   * that have not been deleted.
   *
   * @throws ManagerException BACKEND_FAILED when the machines directory is missing, or it or a
   *     machine's folder cannot be listed (a revision missing from the answer would count as
   *     deleted)
   */
  public Set<RevisionName> revisionFolders() {
    if (!Files.isDirectory(machinesDir)) {
      throw new ManagerException(
          Kind.BACKEND_FAILED,
          "the machines directory "
              + machinesDir
              + " is not there: every revision would count as"
              + " deleted");
    }
    Set<RevisionName> folders = new HashSet<>();
    for (Path entry : entries()) {
      String name = entry.getFileName().toString();
      if (!MachineNames.isValid(name) || !Files.isDirectory(entry)) {
        continue;
      }
      MachineFolder folder = MachineFolder.read(name, entry);
      if (!folder.listed()) {
        throw new ManagerException(Kind.BACKEND_FAILED, String.join("; ", folder.problems()));
      }
      for (RevisionVersion version : folder.versions()) {
        folders.add(new RevisionName(name, version.toString(), version.major()));
      }
    }
    return folders;
  }

  /**
   * One machine, scanned like {@link #machines()} does.
   *
   * @throws ManagerException BAD_REQUEST for a name that cannot be a machine name, NOT_FOUND for an
   *     unknown machine
   */
  public Machine machine(String name) {
    return scan(name, existingMachineDir(name));
  }

  /**
   * The revision in service of {@code name}, reading only that revision's manifest.
   *
   * @throws ManagerException BAD_REQUEST for an invalid name or when the revision in service is
   *     broken (the message names the file, line and field); NOT_FOUND for an unknown machine or
   *     one without any service symlink
   */
  public Revision inService(String name) {
    Path dir = existingMachineDir(name);
    MachineFolder folder = MachineFolder.read(name, dir);
    Optional<MachineFolder.Service> service = folder.service();
    if (service.isEmpty()) {
      if (folder.hasLinks()) {
        throw new ManagerException(
            Kind.BAD_REQUEST,
            "machine "
                + name
                + " has no usable revision in service: "
                + String.join("; ", folder.problems()));
      }
      throw new ManagerException(
          Kind.NOT_FOUND,
          "machine "
              + name
              + " has no revision in service: "
              + "no "
              + name
              + "-<P> symlink to a "
              + name
              + "-<P>.<R> folder in "
              + dir);
    }
    try {
      return folder.load(service.get().version());
    } catch (ManifestException e) {
      throw new ManagerException(
          Kind.BAD_REQUEST,
          "machine "
              + name
              + ": the revision in service ("
              + service.get().link().getFileName()
              + " -> "
              + name
              + "-"
              + service.get().version()
              + ") is broken: "
              + e.getMessage(),
          e);
    }
  }

  private Machine scan(String name, Path entry) {
    List<String> problems = new ArrayList<>();
    if (!MachineNames.isValid(name)) {
      problems.add(
          entry
              + ": '"
              + name
              + "' is not a valid machine name ("
              + MachineNames.RULE
              + "); ignored");
      return new Machine(name, List.of(), null, problems);
    }
    if (!Files.isDirectory(entry)) {
      problems.add(entry + ": not a folder; a machine is a folder of revisions; ignored");
      return new Machine(name, List.of(), null, problems);
    }
    MachineFolder folder = MachineFolder.read(name, entry);
    Optional<MachineFolder.Service> service = folder.service();
    problems.addAll(folder.problems());

    List<Revision> revisions = new ArrayList<>();
    Revision inService = null;
    for (RevisionVersion version : folder.versions()) {
      try {
        Revision revision = folder.load(version);
        revisions.add(revision);
        if (service.isPresent() && service.get().version().equals(version)) {
          inService = revision;
        }
      } catch (ManifestException e) {
        e.problems().forEach(problem -> problems.add(problem.getMessage()));
        if (service.isPresent() && service.get().version().equals(version)) {
          problems.add(
              service.get().link()
                  + " -> "
                  + name
                  + "-"
                  + version
                  + ": the revision in service is broken, so the machine cannot be started");
        }
      }
    }
    if (service.isEmpty() && !folder.versions().isEmpty()) {
      problems.add(
          entry
              + ": no revision in service (make "
              + name
              + "-<P> a symlink to a "
              + name
              + "-<P>.<R> folder)");
    } else if (folder.versions().isEmpty()) {
      problems.add(entry + ": no revisions (" + name + "-<P>.<R> folders)");
    }
    return new Machine(name, revisions, inService, problems);
  }

  /** The folder of a machine that exists; the name is checked first so it cannot traverse. */
  private Path existingMachineDir(String name) {
    if (!MachineNames.isValid(name)) {
      throw new ManagerException(
          Kind.BAD_REQUEST,
          "'"
              + ManifestLexer.printable(String.valueOf(name))
              + "' is not a valid machine name ("
              + MachineNames.RULE
              + ")");
    }
    Path dir = machinesDir.resolve(name);
    if (!Files.isDirectory(dir)) {
      List<String> known = new ArrayList<>();
      for (Path entry : entries()) {
        String entryName = entry.getFileName().toString();
        if (MachineNames.isValid(entryName) && Files.isDirectory(entry)) {
          known.add(entryName);
        }
      }
      known.sort(null);
      throw new ManagerException(
          Kind.NOT_FOUND,
          "no machine named "
              + name
              + " in "
              + machinesDir
              + "; known: "
              + (known.isEmpty() ? "(none)" : String.join(", ", known)));
    }
    return dir;
  }

  /** The entries of the machines directory worth a look (hidden ones and lost+found skipped). */
  private List<Path> entries() {
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(machinesDir)) {
      for (Path entry : stream) {
        String name = entry.getFileName().toString();
        if (!name.startsWith(".") && !name.equals("lost+found")) {
          entries.add(entry);
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new ManagerException(
          Kind.BACKEND_FAILED,
          "cannot list the machines directory " + machinesDir + ": " + e.getMessage(),
          e);
    }
    return entries;
  }
}
