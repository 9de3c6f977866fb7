package dev.buildhost.manager.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.manager.model.ManagerException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class MachineLibraryTest {

  @TempDir Path root;
  private Path machines;
  private MachineLibrary library;

  @BeforeEach
  void library() throws IOException {
    machines = Files.createDirectories(root.resolve("machines"));
    library = new MachineLibrary(machines);
  }

  /** Writes a valid kvm revision {@code <name>-<version>} and returns its folder. */
  private Path revision(String name, String version) throws IOException {
    return revision(
        name,
        version,
        "name: " + name + "\nsummary: " + name + " " + version + "\ntype: kvm\ndisk: disk.img\n");
  }

  private Path revision(String name, String version, String manifest) throws IOException {
    Path dir = Files.createDirectories(machines.resolve(name).resolve(name + "-" + version));
    Files.writeString(dir.resolve("manifest"), manifest);
    Files.writeString(dir.resolve("disk.img"), "disk of " + name + "-" + version);
    return dir;
  }

  /** Points {@code <name>-<P>} at {@code <name>-<version>} the way an admin should: atomically. */
  private void putInService(String name, String version) throws IOException {
    String major = version.substring(0, version.indexOf('.'));
    Path folder = machines.resolve(name);
    Path temporary = folder.resolve("." + name + "-" + major + ".new");
    Files.createSymbolicLink(temporary, Path.of(name + "-" + version));
    Files.move(
        temporary,
        folder.resolve(name + "-" + major),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  private static Machine named(List<Machine> machines, String name) {
    return machines.stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow();
  }

  private static boolean anyContains(List<String> problems, String... fragments) {
    Predicate<String> all = p -> List.of(fragments).stream().allMatch(p::contains);
    return problems.stream().anyMatch(all);
  }

  @Test
  void machinesAreSortedByNameAndRevisionsNumerically() throws IOException {
    for (String version : List.of("1.10", "2.0", "1.9", "1.2", "0.0")) {
      revision("x86_64-linux-gcc", version);
    }
    putInService("x86_64-linux-gcc", "1.10");
    revision("alpha", "1.0");
    putInService("alpha", "1.0");

    List<Machine> list = library.machines();
    assertEquals(List.of("alpha", "x86_64-linux-gcc"), list.stream().map(Machine::name).toList());
    Machine x = list.get(1);
    assertEquals(
        List.of("0.0", "1.2", "1.9", "1.10", "2.0"),
        x.revisions().stream().map(Revision::version).toList());
    assertEquals("1.10", x.inService().version());
    assertEquals(List.of(), x.problems());
    assertTrue(x.usable());
  }

  @Test
  void inServiceGivesTheRealFolderAndManifest() throws IOException {
    Path dir = revision("x", "1.0");
    putInService("x", "1.0");
    Revision r = library.inService("x");
    assertEquals("x", r.machine());
    assertEquals("1.0", r.version());
    assertEquals(dir.toRealPath(), r.dir());
    assertEquals("x 1.0", r.manifest().summary());
    assertEquals("disk of x-1.0", Files.readString(r.file(r.manifest().disk())));
  }

  @Test
  void symlinkSwapAndNewRevisionsArePickedUpWithoutRestart() throws IOException {
    Path old = revision("x", "1.0");
    putInService("x", "1.0");
    Revision before = library.inService("x");

    revision("x", "1.1");
    assertEquals(
        List.of("1.0", "1.1"),
        library.machine("x").revisions().stream().map(Revision::version).toList());
    assertEquals(
        "1.0", library.inService("x").version(), "a new revision is not in service until the swap");

    putInService("x", "1.1");
    Revision after = library.inService("x");
    assertEquals("1.1", after.version());
    assertEquals("1.1", named(library.machines(), "x").inService().version());

    // A running instance holds the old Revision: it still names the old folder and its disk.
    assertEquals("1.0", before.version());
    assertEquals(old.toRealPath(), before.dir());
    assertEquals("disk of x-1.0", Files.readString(before.file(before.manifest().disk())));
  }

  @Test
  void brokenMachineDoesNotHideTheOthers() throws IOException {
    revision("good", "1.0");
    putInService("good", "1.0");
    Path bad =
        revision("bad", "1.0", "name: bad\nsummary: s\ntype: kvm\ndisk: disk.img\ncpus: many\n");
    putInService("bad", "1.0");
    revision("dangling", "1.0");
    Files.createSymbolicLink(machines.resolve("dangling/dangling-2"), Path.of("dangling-2.0"));

    List<Machine> list = library.machines();
    assertEquals(List.of("bad", "dangling", "good"), list.stream().map(Machine::name).toList());

    Machine good = named(list, "good");
    assertTrue(good.usable());
    assertEquals(List.of(), good.problems());

    Machine broken = named(list, "bad");
    assertNull(broken.inService());
    assertEquals(List.of(), broken.revisions());
    String manifestProblem =
        bad.toRealPath().resolve("manifest") + ":5: cpus: 'many' is not a number of CPUs";
    assertTrue(anyContains(broken.problems(), manifestProblem), () -> broken.problems().toString());
    assertTrue(
        anyContains(broken.problems(), "the revision in service is broken"),
        () -> broken.problems().toString());

    Machine dangling = named(list, "dangling");
    assertNull(dangling.inService());
    assertTrue(
        anyContains(dangling.problems(), "dangling-2 -> dangling-2.0: dangling symlink"),
        () -> dangling.problems().toString());

    assertEquals("1.0", library.inService("good").version());
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("bad"));
    assertEquals(Kind.BAD_REQUEST, e.kind());
    assertTrue(e.getMessage().contains(manifestProblem), e.getMessage());
    assertTrue(
        e.getMessage()
            .startsWith("machine bad: the revision in service (bad-1 -> bad-1.0) is broken: "),
        e.getMessage());
  }

  @Test
  void brokenOldRevisionDoesNotStopTheOneInService() throws IOException {
    revision("x", "1.0", "name: x\nsummary: s\ntype: kvm\n");
    revision("x", "1.1");
    putInService("x", "1.1");
    Machine x = library.machine("x");
    assertEquals("1.1", x.inService().version());
    assertEquals(List.of("1.1"), x.revisions().stream().map(Revision::version).toList());
    assertTrue(
        anyContains(x.problems(), "x-1.0/manifest:3: type: a kvm machine needs 'disk'"),
        () -> x.problems().toString());
    assertEquals("1.1", library.inService("x").version());
  }

  @Test
  void manifestCopiedFromAnotherMachineIsReported() throws IOException {
    revision("x", "1.0", "name: y\nsummary: s\ntype: kvm\ndisk: disk.img\n");
    putInService("x", "1.0");
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("x"));
    assertEquals(Kind.BAD_REQUEST, e.kind());
    assertTrue(
        e.getMessage().contains("manifest:1: name: 'y' does not match the machine folder name 'x'"),
        e.getMessage());
  }

  @Test
  void highestMajorWhoseLinkResolvesWins() throws IOException {
    revision("x", "1.0");
    putInService("x", "1.0");
    revision("x", "2.0");
    putInService("x", "2.0");
    assertEquals("2.0", library.inService("x").version());

    // x-2 now dangles: x-1 takes over, and the listing says why.
    Files.writeString(machines.resolve("x/x-2.0/manifest"), "");
    Files.delete(machines.resolve("x/x-2.0/manifest"));
    Files.delete(machines.resolve("x/x-2.0/disk.img"));
    Files.delete(machines.resolve("x/x-2.0"));
    assertEquals("1.0", library.inService("x").version());
    Machine x = library.machine("x");
    assertEquals("1.0", x.inService().version());
    assertTrue(
        anyContains(x.problems(), "x-2 -> x-2.0: dangling symlink"), () -> x.problems().toString());
  }

  @Test
  void brokenHighestMajorDoesNotFallBackToAnOlderMajor() throws IOException {
    revision("x", "1.0");
    putInService("x", "1.0");
    revision("x", "2.0", "name: x\nsummary: s\ntype: kvm\ndisk: gone.img\n");
    putInService("x", "2.0");
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("x"));
    assertEquals(Kind.BAD_REQUEST, e.kind());
    assertTrue(
        e.getMessage().contains("manifest:4: disk: 'gone.img' does not exist"), e.getMessage());
    assertNull(library.machine("x").inService());
  }

  @Test
  void linkToAnotherMajorVersionIsRefused() throws IOException {
    revision("x", "2.0");
    Files.createSymbolicLink(machines.resolve("x/x-1"), Path.of("x-2.0"));
    Machine x = library.machine("x");
    assertNull(x.inService());
    assertTrue(
        anyContains(x.problems(), "x-1 -> x-2.0: points at a revision of major version 2"),
        () -> x.problems().toString());
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("x"));
    assertEquals(Kind.BAD_REQUEST, e.kind());
    assertTrue(e.getMessage().contains("major version 2"), e.getMessage());
  }

  @Test
  void linkOutOfTheMachineFolderIsRefused() throws IOException {
    revision("x", "1.0");
    Path other = revision("y", "1.0");
    Files.createSymbolicLink(machines.resolve("x/x-1"), other);
    Files.createDirectories(root.resolve("elsewhere/x-1.0"));
    Files.createSymbolicLink(machines.resolve("x/x-2"), root.resolve("elsewhere/x-1.0"));
    Machine x = library.machine("x");
    assertNull(x.inService());
    assertTrue(
        anyContains(
            x.problems(), "x-1 -> " + other, "not a revision folder x-1.<R> of this machine"),
        () -> x.problems().toString());
    assertTrue(
        anyContains(x.problems(), "x-2 -> ", "not a revision folder x-2.<R>"),
        () -> x.problems().toString());
    assertEquals(
        Kind.BAD_REQUEST,
        assertThrows(ManagerException.class, () -> library.inService("x")).kind());
  }

  @Test
  void machineWithoutServiceLink() throws IOException {
    revision("x", "1.0");
    Machine x = library.machine("x");
    assertEquals(1, x.revisions().size());
    assertNull(x.inService());
    assertTrue(anyContains(x.problems(), "no revision in service"), () -> x.problems().toString());
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("x"));
    assertEquals(Kind.NOT_FOUND, e.kind());
    assertEquals(
        "machine x has no revision in service: no x-<P> symlink to a x-<P>.<R> folder in "
            + machines.resolve("x"),
        e.getMessage());
  }

  @Test
  void unknownMachineListsTheKnownOnes() throws IOException {
    revision("b", "1.0");
    revision("a", "1.0");
    ManagerException e = assertThrows(ManagerException.class, () -> library.inService("c"));
    assertEquals(Kind.NOT_FOUND, e.kind());
    assertEquals("no machine named c in " + machines + "; known: a, b", e.getMessage());
    assertEquals(
        Kind.NOT_FOUND, assertThrows(ManagerException.class, () -> library.machine("c")).kind());
  }

  @Test
  void missingMachinesFolderIsAnEmptyLibrary() {
    MachineLibrary empty = new MachineLibrary(root.resolve("nothing-here"));
    assertEquals(List.of(), empty.machines());
    ManagerException e = assertThrows(ManagerException.class, () -> empty.inService("x"));
    assertEquals(Kind.NOT_FOUND, e.kind());
    assertTrue(e.getMessage().endsWith("known: (none)"), e.getMessage());
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "..",
        ".",
        "../secret",
        "secret/../x",
        "x/x-1",
        "/etc",
        "/",
        ".hidden",
        "-x",
        "X",
        "x\u0000",
        "x\n",
        "x y",
        "%2e%2e",
        "..\\secret",
        "ａ"
      })
  void namesThatCouldTraverseAreRefusedBeforeTouchingTheDisk(String name) throws IOException {
    // A real machine outside the machines folder that traversal would reach.
    Path secret = Files.createDirectories(root.resolve("secret/secret-1.0"));
    Files.writeString(
        secret.resolve("manifest"), "name: secret\nsummary: s\ntype: kvm\ndisk: manifest\n");
    Files.createSymbolicLink(root.resolve("secret/secret-1"), Path.of("secret-1.0"));
    revision("x", "1.0");
    putInService("x", "1.0");

    ManagerException e = assertThrows(ManagerException.class, () -> library.inService(name));
    assertEquals(Kind.BAD_REQUEST, e.kind());
    assertTrue(e.getMessage().contains("is not a valid machine name"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "control characters are escaped in the message");
    assertEquals(
        Kind.BAD_REQUEST, assertThrows(ManagerException.class, () -> library.machine(name)).kind());
  }

  @Test
  void longestValidNameIsAcceptedOneMoreIsNot() throws IOException {
    String longest = "m".repeat(MachineNames.MAX_LENGTH);
    revision(longest, "1.0");
    putInService(longest, "1.0");
    assertEquals(longest, library.inService(longest).machine());
    assertEquals(
        Kind.BAD_REQUEST,
        assertThrows(ManagerException.class, () -> library.inService(longest + "m")).kind());
  }

  @Test
  void strayEntriesAreReportedAndHiddenOnesIgnored() throws IOException {
    revision("x", "1.0");
    putInService("x", "1.0");
    Path folder = machines.resolve("x");
    Files.writeString(folder.resolve("notes.txt"), "stray");
    Files.createDirectories(folder.resolve("x-01.0"));
    Files.writeString(folder.resolve("x-1.1"), "a file, not a folder");
    Files.createDirectories(folder.resolve("x-3"));
    Files.createDirectories(folder.resolve(".x-1.2.partial"));
    Files.writeString(machines.resolve("readme"), "not a machine");
    Files.createDirectories(machines.resolve("Bad Name"));
    Files.createDirectories(machines.resolve(".snapshots"));
    Files.createDirectories(machines.resolve("lost+found"));

    List<Machine> list = library.machines();
    assertEquals(List.of("Bad Name", "readme", "x"), list.stream().map(Machine::name).toList());
    Machine x = named(list, "x");
    assertEquals("1.0", x.inService().version());
    assertEquals(List.of("1.0"), x.revisions().stream().map(Revision::version).toList());
    assertTrue(
        anyContains(x.problems(), "notes.txt: unexpected entry"), () -> x.problems().toString());
    assertTrue(
        anyContains(x.problems(), "x-01.0: unexpected entry"), () -> x.problems().toString());
    assertTrue(
        anyContains(x.problems(), "x-1.1: a revision must be a folder"),
        () -> x.problems().toString());
    assertTrue(
        anyContains(x.problems(), "x-3: must be a symbolic link", "not a folder"),
        () -> x.problems().toString());
    assertEquals(4, x.problems().size(), () -> x.problems().toString());
    assertTrue(anyContains(named(list, "Bad Name").problems(), "is not a valid machine name"));
    assertTrue(anyContains(named(list, "readme").problems(), "readme: not a folder"));
  }

  @Test
  void machineWithoutRevisions() throws IOException {
    Files.createDirectories(machines.resolve("empty"));
    Machine m = library.machine("empty");
    assertEquals(List.of(), m.revisions());
    assertTrue(anyContains(m.problems(), "no revisions"), () -> m.problems().toString());
    assertEquals(
        Kind.NOT_FOUND,
        assertThrows(ManagerException.class, () -> library.inService("empty")).kind());
  }

  @Test
  void revisionFoldersListEveryRevisionLeftWhetherItsManifestIsValidOrNot() throws IOException {
    revision("alpha", "1.0");
    revision("alpha", "1.1", "name: alpha\nthis is not a manifest\n");
    Files.createDirectories(machines.resolve("alpha").resolve(".alpha-1.2.tmp")); // being copied in
    revision("beta", "2.0");
    Files.createDirectories(machines.resolve("Not A Name").resolve("Not A Name-1.0"));

    assertEquals(
        Set.of(
            new RevisionName("alpha", "1.0", 1),
            new RevisionName("alpha", "1.1", 1),
            new RevisionName("beta", "2.0", 2)),
        library.revisionFolders());
  }

  @Test
  void revisionFoldersOfAMissingMachinesDirectoryFail() {
    ManagerException missing =
        assertThrows(
            ManagerException.class,
            () -> new MachineLibrary(root.resolve("not-mounted")).revisionFolders());
    assertEquals(Kind.BACKEND_FAILED, missing.kind());
    assertTrue(missing.getMessage().contains("not-mounted is not there"), missing.getMessage());
  }
}
