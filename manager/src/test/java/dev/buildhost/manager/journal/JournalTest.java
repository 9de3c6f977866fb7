package dev.buildhost.manager.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {
  @TempDir Path state;

  private static JournalEntry entry(String id, InstanceState instanceState) {
    Manifest manifest =
        new Manifest(
            "abc",
            "vm",
            "a VM",
            MachineType.KVM,
            "build",
            256L,
            512L,
            2,
            "52:54:00:00:00:01",
            List.of("virtio-rng"),
            null,
            "disk.qcow2",
            "vmlinuz",
            "initrd.img",
            "quiet",
            null,
            null);
    Revision revision = new Revision("vm", "1.0", Path.of("/build/machines/vm/vm-1.0"), manifest);
    Instant now = Instant.parse("2026-01-02T03:04:05Z");
    Instance instance =
        new Instance(
            id,
            "vm",
            "1.0",
            MachineType.KVM,
            instanceState,
            instanceState == InstanceState.STOPPED ? EndReason.POWEROFF : null,
            null,
            10001,
            now,
            now,
            null,
            null);
    return new JournalEntry(instance, revision, now.plusSeconds(3600), null);
  }

  private List<String> files() throws IOException {
    try (Stream<Path> list = Files.list(state.resolve("instances"))) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theStateAnInstanceStartedFromAndItsKeptDiskRoundTrip() {
    Journal journal = new Journal(state);
    JournalEntry bare = entry("vm-20260102-030405-abcd", InstanceState.STOPPED);
    JournalEntry written =
        new JournalEntry(
            bare.instance(),
            bare.revision(),
            bare.deadline(),
            null,
            "vm-1.0/stable@0123456789ab",
            true,
            "/build/instances/vm-20260102-030405-abcd/kept/disk.qcow2",
            null);
    journal.write(written);

    assertEquals(List.of(written), new Journal(state).readAll());
  }

  @Test
  void aRecordWrittenBeforeStatesWereJournaledReadsAsStartedFromTheBareRevision()
      throws IOException {
    Journal journal = new Journal(state);
    JournalEntry bare = entry("vm-20260102-030405-abcd", InstanceState.RUNNING);
    journal.write(bare);
    Path file = state.resolve("instances/vm-20260102-030405-abcd.json");
    String old =
        Files.readString(file)
            .replaceAll("(?m)^  \"(startedFrom|keep|keptDisk|keptImage)\" : .*\n", "")
            .replaceAll(",(\\s*)}\\s*$", "$1}");
    Files.writeString(file, old);
    assertFalse(old.contains("startedFrom"), old);

    JournalEntry read = new Journal(state).readAll().get(0);
    assertEquals(bare, read);
    assertEquals(null, read.startedFrom());
    assertFalse(read.keep());
  }

  @Test
  void recordsRoundTripWithTheirRevision() {
    Journal journal = new Journal(state);
    JournalEntry written = entry("vm-20260102-030405-abcd", InstanceState.RUNNING);
    journal.write(written);
    List<JournalEntry> read = new Journal(state).readAll();
    assertEquals(List.of(written), read);
  }

  @Test
  void aRewriteReplacesTheRecordAndLeavesNoTemporaryFile() throws IOException {
    Journal journal = new Journal(state);
    journal.write(entry("vm-1", InstanceState.RUNNING));
    journal.write(entry("vm-1", InstanceState.STOPPED));
    assertEquals(List.of("vm-1.json"), files());
    assertEquals(InstanceState.STOPPED, journal.readAll().get(0).instance().state());
    journal.delete("vm-1");
    assertEquals(List.of(), files());
  }

  @Test
  void aWriteInterruptedBeforeItsRenameLeavesTheOldRecordIntact() throws IOException {
    Journal journal = new Journal(state);
    journal.write(entry("vm-1", InstanceState.RUNNING));
    // A crash after the temporary file was (partly) written, before the rename:
    Files.writeString(
        state.resolve("instances/.vm-1.json.tmp"), "{\"instance\": {\"id\": \"vm-1\", \"sta");
    List<JournalEntry> read = new Journal(state).readAll();
    assertEquals(1, read.size());
    assertEquals(InstanceState.RUNNING, read.get(0).instance().state());
    assertEquals(List.of("vm-1.json"), files(), "the torn temporary file is removed");
  }

  @Test
  void anUnreadableRecordIsSetAsideAndDoesNotHideTheOthers() throws IOException {
    Journal journal = new Journal(state);
    journal.write(entry("good-1", InstanceState.RUNNING));
    Files.writeString(state.resolve("instances/bad-1.json"), "not json");
    Files.writeString(
        state.resolve("instances/renamed.json"),
        Files.readString(state.resolve("instances/good-1.json")));
    List<JournalEntry> read = journal.readAll();
    assertEquals(List.of("good-1"), read.stream().map(JournalEntry::id).toList());
    assertEquals(List.of("bad-1.json.bad", "good-1.json", "renamed.json.bad"), files());
  }

  @Test
  void anUnreadableRecordSaysWhatIsWrongAndWhatItStillNames() throws IOException {
    Journal journal = new Journal(state);
    String id = "vm-20260102-030405-abcd";
    journal.write(entry(id, InstanceState.RUNNING));
    Path record = state.resolve("instances").resolve(id + ".json");
    String text = Files.readString(record);
    Files.writeString(record, text.substring(0, text.indexOf("\"deadline\"")));
    Files.writeString(state.resolve("instances/other-1.json"), "\u0000\u0001 binary");
    Files.writeString(state.resolve("instances/..json.bad"), "not named after an id");

    assertEquals(List.of(), journal.readAll());
    List<UnreadableRecord> bad = journal.unreadable();
    assertEquals(List.of("other-1", id), bad.stream().map(UnreadableRecord::id).toList());
    UnreadableRecord torn = bad.get(1);
    assertEquals(state.resolve("instances").resolve(id + ".json.bad"), torn.file());
    assertTrue(torn.problem().startsWith("Unexpected end-of-input"), torn.problem());
    assertTrue(torn.problem().matches(".*\\(line \\d+, column \\d+\\)"), torn.problem());
    assertEquals(10001, torn.tftpPort(), "the port the torn text still names");
    assertEquals("vm", torn.machine());
    assertEquals("1.0", torn.revision());
    assertEquals(Instant.parse("2026-01-02T03:04:05Z"), torn.createdAt());
    UnreadableRecord binary = bad.get(0);
    assertEquals(0, binary.tftpPort());
    assertEquals(null, binary.machine());
    assertFalse(binary.problem().contains("\n"), binary.problem());

    journal.delete(id);
    assertEquals(List.of("..json.bad", "other-1.json.bad"), files(), "delete removes the bad one");
  }

  @Test
  void aFailedWriteIsCountedWithItsError() throws IOException {
    Journal journal = new Journal(state);
    assertEquals(0, journal.failedWrites());
    Files.delete(journal.dir());
    Files.writeString(journal.dir(), "a file where the folder was");
    assertThrows(
        java.io.UncheckedIOException.class,
        () -> journal.write(entry("vm-1", InstanceState.RUNNING)));
    assertEquals(1, journal.failedWrites());
    assertTrue(
        journal.lastError().startsWith("cannot write the journal record "), journal.lastError());
    assertTrue(journal.lastErrorAt() != null);
  }

  @Test
  void idsThatAreNotFileNamesAreRefused() {
    Journal journal = new Journal(state);
    assertThrows(
        IllegalArgumentException.class,
        () -> journal.write(entry("../escape", InstanceState.RUNNING)));
    assertThrows(IllegalArgumentException.class, () -> journal.delete("a/b"));
    assertFalse(Files.exists(state.resolve("escape.json")));
    assertTrue(Files.isDirectory(journal.dir()));
  }
}
