package dev.buildhost.manager.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class ManifestParserTest {

  /** Lines 1-5 of every case; a case's own lines start at 6. */
  private static final String KVM_HEAD =
      """
      : 1
      name: x
      summary: test machine
      type: kvm
      disk: disk.img
      """;

  private static final String DOCKER_HEAD =
      """
      : 1
      name: x
      summary: test container
      type: docker
      image: image.tar
      """;

  @TempDir Path root;
  private Path revision;
  private Path manifest;

  @BeforeEach
  void revisionFolder() throws IOException {
    revision = Files.createDirectories(root.resolve("machines/x/x-1.0"));
    manifest = revision.resolve("manifest");
    for (String file : List.of("disk.img", "vmlinuz", "initrd.img", "image.tar")) {
      Files.writeString(revision.resolve(file), "content of " + file);
    }
    Files.createDirectories(revision.resolve("sub"));
    Files.writeString(revision.resolve("sub/disk.img"), "nested");
    Files.createDirectories(revision.resolve("adir.img"));
    Files.createSymbolicLink(revision.resolve("link.img"), revision.resolve("disk.img"));
    Files.writeString(root.resolve("machines/x/outside.img"), "outside the revision");
  }

  private Manifest parse(String text) throws IOException {
    Files.writeString(manifest, text);
    return ManifestParser.parse(manifest, "x");
  }

  private ManifestException failure(String text) throws IOException {
    Files.writeString(manifest, text);
    return assertThrows(ManifestException.class, () -> ManifestParser.parse(manifest, "x"));
  }

  @Test
  void fullKvmManifest() throws IOException {
    Manifest m =
        parse(
            """
        : 1
        # build2 fields
        id: 1234-abcd
        name: x
        summary: a kvm machine \\
        with a long summary
        type: kvm
        role: auxiliary
        ram-minimum: 1048576
        ram-maximum: 4G
        cpus: 4
        mac: 52:54:00:AB:CD:EF
        options: -device virtio-rng-pci \\
          -usb
        changes:
        \\
        1.0: first
          - with details
        \\
        # ours
        disk: disk.img
        kernel: vmlinuz
        initrd: initrd.img
        cmdline: console=ttyS0 quiet
        """);
    assertEquals(
        new Manifest(
            "1234-abcd",
            "x",
            "a kvm machine with a long summary",
            MachineType.KVM,
            "auxiliary",
            1024L,
            4096L,
            4,
            "52:54:00:ab:cd:ef",
            List.of("-device", "virtio-rng-pci", "-usb"),
            "1.0: first\n  - with details",
            "disk.img",
            "vmlinuz",
            "initrd.img",
            "console=ttyS0 quiet",
            null,
            null),
        m);
  }

  @Test
  void minimalKvmManifestHasDefaults() throws IOException {
    Manifest m = parse(KVM_HEAD);
    assertEquals("build", m.role());
    assertEquals(List.of(), m.options());
    assertNull(m.id());
    assertNull(m.ramMinimumMib());
    assertNull(m.cpus());
    assertNull(m.mac());
    assertNull(m.kernel());
  }

  @Test
  void directBootWithoutDisk() throws IOException {
    Manifest m = parse("name: x\nsummary: s\ntype: kvm\nkernel: vmlinuz\ninitrd: initrd.img\n");
    assertNull(m.disk());
    assertEquals("vmlinuz", m.kernel());
    assertEquals(
        revision.resolve("vmlinuz"), new Revision("x", "1.0", revision, m).file(m.kernel()));
  }

  @Test
  void dockerWithArchiveImage() throws IOException {
    Manifest m = parse(DOCKER_HEAD + "command: /worker.sh --once\ncpus: 2\n");
    assertEquals(MachineType.DOCKER, m.type());
    assertEquals("image.tar", m.image());
    assertTrue(m.imageIsArchive());
    assertEquals("/worker.sh --once", m.command());
  }

  @ParameterizedTest
  @CsvSource({
    "busybox",
    "busybox:1.36",
    "library/busybox:latest",
    "registry.local:5000/team/builder:1.2",
    "localhost/a__b-c.d/e---f:v1_2.3-x",
    "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  })
  void dockerWithImageReference(String reference) throws IOException {
    Manifest m = parse("name: x\nsummary: s\ntype: docker\nimage: " + reference + "\n");
    assertEquals(reference, m.image());
    assertFalse(m.imageIsArchive());
  }

  @ParameterizedTest
  @CsvSource({
    "1048576, 1024",
    "1048577, 1025",
    "1, 1",
    "1024K, 1",
    "1048576K, 1024",
    "1025k, 2",
    "512M, 512",
    "512m, 512",
    "2G, 2048",
    "3g, 3072"
  })
  void sizesAreKibOrSuffixedAndStoredAsMibRoundedUp(String text, long mib) throws IOException {
    Manifest m = parse(KVM_HEAD + "ram-minimum: " + text + "\nram-maximum: " + text + "\n");
    assertEquals(mib, m.ramMinimumMib());
    assertEquals(mib, m.ramMaximumMib());
  }

  @Test
  void nameIsCheckedAgainstTheFolderOnlyWhenAsked() throws IOException {
    Files.writeString(manifest, KVM_HEAD.replace("name: x", "name: other"));
    assertEquals("other", ManifestParser.parse(manifest).name());
    ManifestException e =
        assertThrows(ManifestException.class, () -> ManifestParser.parse(manifest, "x"));
    assertEquals(
        manifest + ":2: name: 'other' does not match the machine folder name 'x'", e.getMessage());
  }

  @Test
  void everyProblemOfAManifestIsReportedAtOnceInLineOrder() throws IOException {
    ManifestException e =
        failure(
            """
        : 1
        name: x
        colour: blue
        type: kvm
        kernel: no-such-kernel
        ram-minimum: 12Q
        cpus: many
        """);
    String[] lines = e.getMessage().split("\n");
    assertEquals(5, lines.length, e::getMessage);
    assertTrue(lines[0].startsWith(manifest + ":3: colour: unknown field"), lines[0]);
    assertTrue(
        lines[1].startsWith(manifest + ":5: kernel: 'no-such-kernel' does not exist in "),
        lines[1]);
    assertEquals(
        manifest + ":6: ram-minimum: '12Q' is not a size (e.g. 2G, 512M, or KiB as an integer)",
        lines[2]);
    // the end of the manifest is its last line, 7: same line, in the order they were found
    assertEquals(
        manifest
            + ":7: summary: required field is missing (reached the end of the manifest without it)",
        lines[3]);
    assertTrue(
        lines[4].startsWith(manifest + ":7: cpus: 'many' is not a number of CPUs"), lines[4]);
    assertEquals(5, e.problems().size());
    assertEquals(3, e.line(), "the first problem's details");
    assertEquals("colour", e.field());
  }

  @Test
  void aFieldWithARefusedValueIsReportedOnceNotAlsoAsMissing() throws IOException {
    ManifestException e = failure(KVM_HEAD.replace("summary: ", "summary:\t\u0001 "));
    assertEquals(1, e.problems().size(), e::getMessage);
    assertTrue(e.problem().contains("control character"), e::getMessage);
  }

  @Test
  void theBriefsExampleMessage() throws IOException {
    ManifestException e = failure(KVM_HEAD + "cpus: 1\nram-minimum: 12Q\n");
    assertEquals(
        manifest + ":7: ram-minimum: '12Q' is not a size (e.g. 2G, 512M, or KiB as an integer)",
        e.getMessage());
    assertEquals(manifest, e.file());
    assertEquals(7, e.line());
    assertEquals("ram-minimum", e.field());
  }

  static Stream<Arguments> malformed() {
    return Stream.of(
        // syntax and fields
        bad(
            "unknown field",
            KVM_HEAD + "colour: red\n",
            6,
            "colour",
            "unknown field (known fields: id, name,"),
        bad(
            "duplicate",
            KVM_HEAD + "summary: again\n",
            6,
            "summary",
            "given twice (first on line 3)"),
        bad("empty value", KVM_HEAD + "id:\n", 6, "id", "empty value"),
        bad(
            "multi-line where one line is expected",
            KVM_HEAD + "id:\\\na\nb\n\\\n",
            6,
            "id",
            "must be a single line"),
        bad(
            "control character",
            KVM_HEAD + "cmdline: a\u0001b\n",
            6,
            "cmdline",
            "contains the control character \\x01"),
        bad(
            "missing name",
            "summary: s\ntype: kvm\ndisk: disk.img\n",
            3,
            "name",
            "required field is missing"),
        bad(
            "missing summary",
            "name: x\ntype: kvm\ndisk: disk.img\n",
            3,
            "summary",
            "required field is missing"),
        bad(
            "missing type",
            "name: x\nsummary: s\n\n# end\n",
            4,
            "type",
            "required field is missing"),
        bad(
            "invalid name",
            "name: X/../y\nsummary: s\ntype: kvm\n",
            1,
            "name",
            "'X/../y' is not a valid machine name"),
        bad(
            "name of another folder",
            "name: y\nsummary: s\ntype: kvm\n",
            1,
            "name",
            "'y' does not match the machine folder name 'x'"),
        bad(
            "type nspawn",
            "name: x\nsummary: s\ntype: nspawn\n",
            3,
            "type",
            "'nspawn' is not a machine type; expected kvm or docker (build2's nspawn"),
        bad(
            "type upper case",
            "name: x\nsummary: s\ntype: KVM\n",
            3,
            "type",
            "'KVM' is not a machine type"),
        bad(
            "role",
            KVM_HEAD + "role: worker\n",
            6,
            "role",
            "'worker' is not a role; expected build or auxiliary"),
        // sizes
        bad("size suffix", KVM_HEAD + "ram-minimum: 2T\n", 6, "ram-minimum", "'2T' is not a size"),
        bad(
            "size with unit word",
            KVM_HEAD + "ram-maximum: 2 GiB\n",
            6,
            "ram-maximum",
            "'2 GiB' is not a size"),
        bad(
            "negative size",
            KVM_HEAD + "ram-maximum: -1\n",
            6,
            "ram-maximum",
            "'-1' is not a size"),
        bad(
            "fractional size",
            KVM_HEAD + "ram-maximum: 1.5G\n",
            6,
            "ram-maximum",
            "'1.5G' is not a size"),
        bad("zero size", KVM_HEAD + "ram-minimum: 0M\n", 6, "ram-minimum", "'0M' is zero"),
        bad(
            "huge size",
            KVM_HEAD + "ram-minimum: 999999999999999999G\n",
            6,
            "ram-minimum",
            "is too large"),
        bad(
            "minimum above maximum",
            KVM_HEAD + "ram-minimum: 4G\nram-maximum: 2G\n",
            7,
            "ram-maximum",
            "2048 MiB is less than ram-minimum (4096 MiB, line 6)"),
        // cpus
        bad("zero cpus", KVM_HEAD + "cpus: 0\n", 6, "cpus", "0 is out of range (1 to 256)"),
        bad("too many cpus", KVM_HEAD + "cpus: 257\n", 6, "cpus", "257 is out of range (1 to 256)"),
        bad("cpus word", KVM_HEAD + "cpus: two\n", 6, "cpus", "'two' is not a number of CPUs"),
        bad("negative cpus", KVM_HEAD + "cpus: -1\n", 6, "cpus", "'-1' is not a number of CPUs"),
        bad(
            "huge cpus",
            KVM_HEAD + "cpus: 99999999999999999999\n",
            6,
            "cpus",
            "is not a number of CPUs"),
        // mac
        bad(
            "short mac",
            KVM_HEAD + "mac: 52:54:00:12:34\n",
            6,
            "mac",
            "'52:54:00:12:34' is not a MAC address"),
        bad(
            "mac with dashes",
            KVM_HEAD + "mac: 52-54-00-12-34-56\n",
            6,
            "mac",
            "is not a MAC address"),
        bad("mac not hex", KVM_HEAD + "mac: 52:54:00:12:34:zz\n", 6, "mac", "is not a MAC address"),
        bad(
            "multicast mac",
            KVM_HEAD + "mac: 01:00:5e:00:00:01\n",
            6,
            "mac",
            "is a multicast address"),
        bad(
            "broadcast mac",
            KVM_HEAD + "mac: ff:ff:ff:ff:ff:ff\n",
            6,
            "mac",
            "is a multicast address"),
        bad("zero mac", KVM_HEAD + "mac: 00:00:00:00:00:00\n", 6, "mac", "all-zero address"),
        // per-type rules
        bad(
            "kvm without disk or kernel",
            "name: x\nsummary: s\ntype: kvm\ncpus: 1\n",
            3,
            "type",
            "a kvm machine needs 'disk' (a disk image) or 'kernel' (direct boot), or both"),
        bad(
            "initrd without kernel",
            KVM_HEAD + "initrd: initrd.img\n",
            6,
            "initrd",
            "only makes sense with 'kernel'"),
        bad(
            "cmdline without kernel",
            KVM_HEAD + "cmdline: quiet\n",
            6,
            "cmdline",
            "only makes sense with 'kernel'"),
        bad(
            "kvm with image",
            KVM_HEAD + "image: image.tar\n",
            6,
            "image",
            "applies to docker machines only"),
        bad(
            "kvm with command",
            KVM_HEAD + "command: /bin/true\n",
            6,
            "command",
            "applies to docker machines only"),
        bad(
            "docker without image",
            "name: x\nsummary: s\ntype: docker\n",
            3,
            "type",
            "a docker machine needs 'image'"),
        bad(
            "docker with disk",
            DOCKER_HEAD + "disk: disk.img\n",
            6,
            "disk",
            "applies to kvm machines only"),
        bad(
            "docker with kernel",
            DOCKER_HEAD + "kernel: vmlinuz\n",
            6,
            "kernel",
            "applies to kvm machines only"),
        bad(
            "docker with mac",
            DOCKER_HEAD + "mac: 52:54:00:12:34:56\n",
            6,
            "mac",
            "applies to kvm machines only"),
        bad(
            "image reference upper case",
            "name: x\nsummary: s\ntype: docker\nimage: Team/Builder:1\n",
            4,
            "image",
            "'Team/Builder:1' is neither an archive in the revision folder"),
        bad(
            "image reference with blank",
            "name: x\nsummary: s\ntype: docker\nimage: a b\n",
            4,
            "image",
            "is neither an archive"),
        bad(
            "image reference with shell",
            "name: x\nsummary: s\ntype: docker\nimage: a;rm\n",
            4,
            "image",
            "is neither an archive"),
        // files: traversal, absolute, nested, missing, not regular, symlinks
        bad(
            "disk traversal",
            "name: x\nsummary: s\ntype: kvm\ndisk: ../outside.img\n",
            4,
            "disk",
            "'../outside.img' must be a plain file name in the revision folder"),
        bad(
            "disk absolute",
            "name: x\nsummary: s\ntype: kvm\ndisk: /etc/passwd\n",
            4,
            "disk",
            "'/etc/passwd' must be a plain file name"),
        bad(
            "disk dot-dot",
            "name: x\nsummary: s\ntype: kvm\ndisk: ..\n",
            4,
            "disk",
            "must be a plain file name"),
        bad(
            "disk dot",
            "name: x\nsummary: s\ntype: kvm\ndisk: .\n",
            4,
            "disk",
            "must be a plain file name"),
        bad(
            "disk in a subfolder",
            "name: x\nsummary: s\ntype: kvm\ndisk: sub/disk.img\n",
            4,
            "disk",
            "must be a plain file name"),
        bad(
            "disk backslash",
            "name: x\nsummary: s\ntype: kvm\ndisk: ..\\\\outside.img\n",
            4,
            "disk",
            "must be a plain file name"),
        bad(
            "kernel traversal",
            "name: x\nsummary: s\ntype: kvm\nkernel: ../../../../etc/shadow\n",
            4,
            "kernel",
            "must be a plain file name"),
        bad(
            "initrd traversal",
            "name: x\nsummary: s\ntype: kvm\nkernel: vmlinuz\ninitrd: ../outside.img\n",
            5,
            "initrd",
            "must be a plain file name"),
        bad(
            "image archive traversal",
            "name: x\nsummary: s\ntype: docker\nimage: ../../x.tar\n",
            4,
            "image",
            "must be a plain file name"),
        bad(
            "missing disk",
            "name: x\nsummary: s\ntype: kvm\ndisk: nope.img\n",
            4,
            "disk",
            "'nope.img' does not exist in "),
        bad(
            "missing kernel",
            "name: x\nsummary: s\ntype: kvm\nkernel: bzImage\n",
            4,
            "kernel",
            "does not exist"),
        bad(
            "missing image archive",
            "name: x\nsummary: s\ntype: docker\nimage: other.tar\n",
            4,
            "image",
            "'other.tar' does not exist"),
        bad(
            "disk is a folder",
            "name: x\nsummary: s\ntype: kvm\ndisk: adir.img\n",
            4,
            "disk",
            "is not a regular file"),
        bad(
            "disk is a symlink",
            "name: x\nsummary: s\ntype: kvm\ndisk: link.img\n",
            4,
            "disk",
            "is a symbolic link"));
  }

  @Test
  void networkAndUploadLimitFieldsAreReadInBytes() throws IOException {
    Manifest m =
        parse(DOCKER_HEAD + "outbound-nat: true\ntftp-upload-quota: 2G\ntftp-max-file: 300\n");
    assertEquals(true, m.outboundNat());
    assertEquals(2L * 1024 * 1024 * 1024, m.tftpUploadQuotaBytes());
    assertEquals(300L * 1024, m.tftpMaxFileBytes(), "an integer is KiB, as for ram-minimum");
    Manifest plain = parse(KVM_HEAD + "outbound-nat: false\n");
    assertEquals(false, plain.outboundNat());
    assertNull(plain.tftpUploadQuotaBytes(), "left to the daemon");
    assertNull(plain.tftpMaxFileBytes(), "left to the daemon");
    assertNull(parse(KVM_HEAD).outboundNat(), "left to the daemon");
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
    "outbound-nat, yes, is neither true nor false",
    "tftp-upload-quota, 0, is zero; leave the field out",
    "tftp-max-file, 12T, is not a size",
    "tftp-max-file, 99999999999G, is too large"
  })
  void badNetworkAndUploadLimitValuesNameTheField(String field, String value, String fragment)
      throws IOException {
    ManifestException e = failure(DOCKER_HEAD + field + ": " + value + "\n");
    assertEquals(6, e.line());
    assertEquals(field, e.field());
    assertTrue(e.problem().contains(fragment), e::getMessage);
  }

  @Test
  void aContainerMayKeepOtherCapabilitiesAndAnotherPidsLimit() throws IOException {
    Manifest m =
        parse(DOCKER_HEAD + "capabilities: cap_chown, SYS_CHROOT mknod\npids-limit: 4096\n");
    assertEquals(List.of("CHOWN", "SYS_CHROOT", "MKNOD"), m.capabilities());
    assertEquals(4096L, m.pidsLimit());
    assertEquals(List.of(), parse(DOCKER_HEAD + "capabilities: none\n").capabilities());
    Manifest plain = parse(DOCKER_HEAD);
    assertNull(plain.capabilities(), "left to the daemon");
    assertNull(plain.pidsLimit(), "left to the daemon");
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
    "capabilities, CHOWN SYS_ADMIN, 'SYS_ADMIN' is not a capability a container may keep",
    "capabilities, ',', no capability named",
    "pids-limit, 0, is not a number of processes from 1 to 4194304",
    "pids-limit, many, is not a number of processes from 1 to 4194304",
    "pids-limit, 4194305, is not a number of processes from 1 to 4194304"
  })
  void badContainerLimitsNameTheField(String field, String value, String fragment)
      throws IOException {
    ManifestException e = failure(DOCKER_HEAD + field + ": " + value + "\n");
    assertEquals(6, e.line());
    assertEquals(field, e.field());
    assertTrue(e.problem().contains(fragment), e::getMessage);
  }

  @Test
  void aKvmMachineMayNotSetContainerLimits() throws IOException {
    ManifestException e = failure(KVM_HEAD + "pids-limit: 10\n");
    assertEquals("pids-limit", e.field());
    assertTrue(e.problem().contains("applies to docker machines only"), e::getMessage);
  }

  private static Arguments bad(
      String description, String text, int line, String field, String fragment) {
    return Arguments.of(description, text, line, field, fragment);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void malformedManifestNamesFileLineAndField(
      String description, String text, int line, String field, String fragment) throws IOException {
    ManifestException e = failure(text);
    String prefix = manifest + ":" + line + ": " + field + ": ";
    assertTrue(
        e.getMessage().startsWith(prefix),
        () -> "expected prefix " + prefix + " in: " + e.getMessage());
    assertTrue(
        e.problem().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
    assertEquals(line, e.line());
    assertEquals(field, e.field());
  }

  @Test
  void missingManifest() {
    ManifestException e =
        assertThrows(ManifestException.class, () -> ManifestParser.parse(manifest, "x"));
    assertEquals(manifest + ": no such file", e.getMessage());
  }

  @Test
  void manifestThatIsAFolder() throws IOException {
    Files.createDirectory(manifest);
    ManifestException e =
        assertThrows(ManifestException.class, () -> ManifestParser.parse(manifest, "x"));
    assertEquals(manifest + ": not a regular file", e.getMessage());
  }

  @Test
  void oversizedManifestIsRefused() throws IOException {
    String padding =
        "# padding padding padding padding padding padding padding padding\n".repeat(1100);
    ManifestException e = failure(KVM_HEAD + padding);
    assertTrue(e.getMessage().startsWith(manifest + ": is "), e.getMessage());
    assertTrue(
        e.getMessage().endsWith("bytes, larger than the 64 KiB limit for a manifest"),
        e.getMessage());
  }

  @Test
  void manifestAtTheLimitIsAccepted() throws IOException {
    String head = KVM_HEAD;
    String padding = "#".repeat(ManifestParser.MAX_BYTES - head.length() - 1) + "\n";
    assertEquals(ManifestParser.MAX_BYTES, (head + padding).length());
    assertEquals("x", parse(head + padding).name());
  }

  @Test
  void invalidUtf8IsRefused() throws IOException {
    byte[] head = KVM_HEAD.getBytes(StandardCharsets.UTF_8);
    byte[] bytes = new byte[head.length + 10];
    System.arraycopy(head, 0, bytes, 0, head.length);
    System.arraycopy(
        "id: \u00ff\u00fe\n".getBytes(StandardCharsets.ISO_8859_1), 0, bytes, head.length, 7);
    Files.write(manifest, java.util.Arrays.copyOf(bytes, head.length + 7));
    ManifestException e =
        assertThrows(ManifestException.class, () -> ManifestParser.parse(manifest, "x"));
    assertEquals(manifest + ": not valid UTF-8 text", e.getMessage());
  }

  @Test
  void utf8SummaryAndByteOrderMarkAreFine() throws IOException {
    Manifest m = parse("\uFEFFname: x\nsummary: Grüße, 機械\ntype: kvm\ndisk: disk.img\n");
    assertEquals("Grüße, 機械", m.summary());
  }

  @Test
  void syntaxErrorsAlsoNameTheFile() throws IOException {
    ManifestException e = failure("name: x\nthis line has no colon\n");
    assertEquals(
        manifest
            + ":2: 'this line has no colon' is not a 'name: value' line (':' expected after "
            + "the name)",
        e.getMessage());
    assertNull(e.field());
  }

  @Test
  void unknownFieldNameIsEscapedAndShortenedInTheMessage() throws IOException {
    ManifestException e = failure(KVM_HEAD + "\u001b[31m" + "z".repeat(200) + ": v\n");
    assertTrue(e.field().startsWith("\\x1b[31mzzz"), e.field());
    assertTrue(e.field().endsWith("..."), e.field());
    assertFalse(e.getMessage().contains("\u001b"), e.getMessage());
  }

  @Test
  void aNameThatLooksLikeTraversalIsOnlyAnUnknownField() throws IOException {
    ManifestException e = failure(KVM_HEAD + "../../disk: disk.img\n");
    assertEquals("../../disk", e.field());
    assertEquals(6, e.line());
  }
}
