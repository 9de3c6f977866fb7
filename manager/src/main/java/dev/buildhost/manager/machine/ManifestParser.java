package dev.buildhost.manager.machine;

import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and validates a machine manifest: build2 syntax (see {@link ManifestLexer}) and the fields
 * of a bbot machine manifest plus buildhost's own. Every problem is a {@link ManifestException}
 * naming the file, the line and the field.
 *
 * <p>Rules beyond the syntax:
 *
 * <ul>
 *   <li>required: {@code name}, {@code summary}, {@code type}; unknown and repeated fields are
 *       errors; every value must be non-empty and, except {@code options} and {@code changes}, a
 *       single line;
 *   <li>{@code role} defaults to {@code build}; {@code options} is split at blanks and is an empty
 *       list when absent; {@code mac} is stored in lower case;
 *   <li>{@code ram-minimum}/{@code ram-maximum}: KiB as an integer (build2) or a number with a
 *       {@code K}, {@code M} or {@code G} suffix; stored as MiB, rounded up;
 *   <li>{@code disk}, {@code kernel}, {@code initrd} and a {@code .tar} {@code image} name a
 *       regular file directly inside the revision folder (the manifest's folder): no {@code /}, no
 *       {@code ..}, no symlinks;
 *   <li>{@code disk} tells its format by its name ({@code .qcow2}, or {@code .raw}/{@code .img} for
 *       raw), and a qcow2 disk may be backed only by files directly in the revision folder (see
 *       {@link DiskChain});
 *   <li>{@code type: kvm} needs {@code disk} or {@code kernel}; {@code initrd} and {@code cmdline}
 *       need {@code kernel}; {@code image} and {@code command} are refused;
 *   <li>{@code type: docker} needs {@code image}: a value ending in {@code .tar} is an archive in
 *       the revision folder, anything else a reference to a local image ({@code repo/name:tag});
 *       {@code disk}, {@code kernel}, {@code initrd}, {@code cmdline} and {@code mac} are refused;
 *   <li>{@code outbound-nat}: {@code true} or {@code false}; {@code tftp-upload-quota} and {@code
 *       tftp-max-file}: sizes written like {@code ram-minimum}, stored in bytes;
 *   <li>{@code capabilities} (docker only): the capabilities the container keeps, names of Docker's
 *       default set separated by commas or spaces, or {@code none}; {@code pids-limit} (docker
 *       only): processes at once, 1 to 4194304.
 * </ul>
 */
public final class ManifestParser {

  /** Larger manifests are refused unread: a manifest is a few hundred bytes. */
  public static final int MAX_BYTES = 64 * 1024;

  public static final int MAX_CPUS = 256;

  /** 64 TiB: anything larger is a typo, not a machine. */
  private static final long MAX_MIB = 64L * 1024 * 1024;

  private static final List<String> FIELDS =
      List.of(
          "id",
          "name",
          "summary",
          "type",
          "role",
          "ram-minimum",
          "ram-maximum",
          "cpus",
          "mac",
          "options",
          "changes",
          "disk",
          "kernel",
          "initrd",
          "cmdline",
          "image",
          "command",
          "outbound-nat",
          "tftp-upload-quota",
          "tftp-max-file",
          "capabilities",
          "pids-limit");

  private static final Set<String> MULTI_LINE_FIELDS = Set.of("options", "changes");

  private static final Pattern SIZE = Pattern.compile("([0-9]{1,18})([KMGkmg]?)");
  private static final Pattern CPUS = Pattern.compile("[0-9]{1,9}");
  private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");

  /** Docker's reference grammar (distribution/reference): [domain/]path[:tag][@digest]. */
  private static final Pattern IMAGE_REFERENCE;

  static {
    String alnum = "[a-z0-9]+";
    String pathComponent = alnum + "(?:(?:[._]|__|-+)" + alnum + ")*";
    String domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    String domain = domainComponent + "(?:\\." + domainComponent + ")*(?::[0-9]+)?";
    String name = "(?:" + domain + "/)?" + pathComponent + "(?:/" + pathComponent + ")*";
    String tag = "[\\w][\\w.-]{0,127}";
    String digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    IMAGE_REFERENCE = Pattern.compile(name + "(?::" + tag + ")?(?:@" + digest + ")?");
  }

  private static final int MAX_IMAGE_REFERENCE = 512;

  private ManifestParser() {}

  /**
   * Parses {@code file}; files it names are looked up in the file's folder. The {@code name} field
   * is checked for syntax only.
   */
  public static Manifest parse(Path file) {
    return parse(file, null);
  }

  /**
   * Parses {@code file} and also requires {@code name} to equal {@code expectedName} (the machine's
   * folder name), when that is not null.
   */
  public static Manifest parse(Path file, String expectedName) {
    String text = read(file);
    Path revisionDir = file.toAbsolutePath().getParent();
    return new Fields(file, revisionDir, text, expectedName).manifest();
  }

  private static String read(Path file) {
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      throw new ManifestException(file, 0, null, "no such file");
    } catch (IOException e) {
      throw new ManifestException(file, 0, null, "cannot read: " + e, e);
    }
    if (!attributes.isRegularFile()) {
      throw new ManifestException(file, 0, null, "not a regular file");
    }
    if (attributes.size() > MAX_BYTES) {
      throw tooLarge(file, attributes.size());
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_BYTES + 1); // the file may have grown since
    } catch (IOException e) {
      throw new ManifestException(file, 0, null, "cannot read: " + e, e);
    }
    if (bytes.length > MAX_BYTES) {
      throw tooLarge(file, bytes.length);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new ManifestException(file, 0, null, "not valid UTF-8 text");
    }
    return text.startsWith("\uFEFF") ? text.substring(1) : text;
  }

  private static ManifestException tooLarge(Path file, long size) {
    return new ManifestException(
        file,
        0,
        null,
        "is " + size + " bytes, larger than the " + MAX_BYTES / 1024 + " KiB limit for a manifest");
  }

  /** The validation of one manifest's fields. */
  private static final class Fields {
    private final Path file;
    private final Path revisionDir;
    private final String expectedName;
    private final int lastLine;
    private final Map<String, ManifestLexer.Pair> pairs = new HashMap<>();

    /** Fields given with a value refused outright: reported once, then treated as absent. */
    private final Set<String> refused = new HashSet<>();

    /** Everything found wrong so far: the whole manifest is checked, so that one edit fixes all. */
    private final List<ManifestException> problems = new ArrayList<>();

    Fields(Path file, Path revisionDir, String text, String expectedName) {
      this.file = file;
      this.revisionDir = revisionDir;
      this.expectedName = expectedName;
      this.lastLine = Math.max(1, ManifestLexer.lineCount(text));
      for (ManifestLexer.Pair pair : ManifestLexer.pairs(file, text)) {
        checkThat(() -> accept(pair));
      }
    }

    private void accept(ManifestLexer.Pair pair) {
      String field = pair.name();
      if (!FIELDS.contains(field)) {
        throw new ManifestException(
            file,
            pair.line(),
            ManifestLexer.printable(field),
            "unknown field (known fields: " + String.join(", ", FIELDS) + ")");
      }
      ManifestLexer.Pair earlier = pairs.get(field);
      if (earlier != null || refused.contains(field)) {
        throw error(
            pair,
            "given twice" + (earlier == null ? "" : " (first on line " + earlier.line() + ")"));
      }
      String problem = valueProblem(field, pair.value());
      if (problem != null) {
        refused.add(field);
        throw error(pair, problem);
      }
      pairs.put(field, pair);
    }

    private static String valueProblem(String field, String value) {
      if (value.isEmpty()) {
        return "empty value (leave the field out instead)";
      }
      if (!MULTI_LINE_FIELDS.contains(field) && value.indexOf('\n') >= 0) {
        return "must be a single line";
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
          return String.format("contains the control character \\x%02x", (int) c);
        }
      }
      return null;
    }

    Manifest manifest() {
      String name = check(this::name);
      String summary = check(() -> required("summary"));
      String typeName = check(() -> required("type"));
      MachineType type = typeName == null ? null : check(() -> type(typeName));

      Long ramMinimum = check(() -> size("ram-minimum"));
      Long ramMaximum = check(() -> size("ram-maximum"));
      if (ramMinimum != null && ramMaximum != null && ramMinimum > ramMaximum) {
        problems.add(
            error(
                pairs.get("ram-maximum"),
                ramMaximum
                    + " MiB is less than ram-minimum ("
                    + ramMinimum
                    + " MiB, line "
                    + pairs.get("ram-minimum").line()
                    + ")"));
      }
      String role = check(this::role);
      Integer cpus = check(this::cpus);
      String mac = check(this::mac);
      String disk = check(() -> revisionFile("disk"));
      String kernel = check(() -> revisionFile("kernel"));
      String initrd = check(() -> revisionFile("initrd"));
      String cmdline = value("cmdline");
      String image = value("image");
      String command = value("command");
      Boolean outboundNat = check(this::outboundNat);
      Long uploadQuota = check(() -> bytes("tftp-upload-quota"));
      Long maxFile = check(() -> bytes("tftp-max-file"));
      List<String> capabilities = check(this::capabilities);
      Long pidsLimit = check(this::pidsLimit);

      if (type == MachineType.KVM) {
        checkThat(() -> refusedFor(type, "image", "command", "capabilities", "pids-limit"));
        if (disk != null) {
          checkThat(() -> baseDisk(disk));
        }
        if (given("disk") || given("kernel")) {
          checkThat(() -> needsKernel("initrd"));
          checkThat(() -> needsKernel("cmdline"));
        } else {
          problems.add(
              error(
                  pairs.get("type"),
                  "a kvm machine needs 'disk' (a disk image) or 'kernel' (direct boot), or both"));
        }
      } else if (type == MachineType.DOCKER) {
        checkThat(() -> refusedFor(type, "disk", "kernel", "initrd", "cmdline", "mac"));
        if (image != null) {
          image = check(() -> image(value("image")));
        } else if (!given("image")) {
          problems.add(
              error(
                  pairs.get("type"),
                  "a docker machine needs 'image' (an image.tar archive "
                      + "in the revision folder, or a local image reference like repo/name:tag)"));
        }
      }
      if (!problems.isEmpty()) {
        throw ManifestException.all(problems);
      }
      return new Manifest(
          value("id"),
          name,
          summary,
          type,
          role,
          ramMinimum,
          ramMaximum,
          cpus,
          mac,
          options(),
          value("changes"),
          disk,
          kernel,
          initrd,
          cmdline,
          image,
          command,
          outboundNat,
          uploadQuota,
          maxFile,
          capabilities,
          pidsLimit);
    }

    private List<String> capabilities() {
      String value = value("capabilities");
      if (value == null) {
        return null;
      }
      try {
        return ContainerCapabilities.parse(value);
      } catch (IllegalArgumentException e) {
        throw error(pairs.get("capabilities"), e.getMessage());
      }
    }

    private Long pidsLimit() {
      String value = value("pids-limit");
      if (value == null) {
        return null;
      }
      long limit;
      try {
        limit = Long.parseLong(value.strip());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > ContainerCapabilities.MAX_PIDS) {
        throw error(
            pairs.get("pids-limit"),
            "'"
                + ManifestLexer.printable(value)
                + "' is not a number of processes from 1 to "
                + ContainerCapabilities.MAX_PIDS);
      }
      return limit;
    }

    private Boolean outboundNat() {
      String value = value("outbound-nat");
      if (value == null) {
        return null;
      }
      return switch (value) {
        case "true" -> Boolean.TRUE;
        case "false" -> Boolean.FALSE;
        default ->
            throw error(
                pairs.get("outbound-nat"),
                "'" + ManifestLexer.printable(value) + "' is neither true nor false");
      };
    }

    /** A size field in bytes. */
    private Long bytes(String field) {
      Long kib = kib(field);
      return kib == null ? null : kib * 1024;
    }

    /** The step's result, or null after recording its problem. */
    private <T> T check(Supplier<T> step) {
      try {
        return step.get();
      } catch (ManifestException e) {
        problems.add(e);
        return null;
      }
    }

    private void checkThat(Runnable step) {
      check(
          () -> {
            step.run();
            return null;
          });
    }

    /** Whether the manifest has the field, with a usable value or a refused one. */
    private boolean given(String field) {
      return pairs.containsKey(field) || refused.contains(field);
    }

    private String name() {
      String name = required("name");
      if (name == null) {
        return null;
      }
      ManifestLexer.Pair namePair = pairs.get("name");
      if (!MachineNames.isValid(name)) {
        throw error(
            namePair,
            "'"
                + ManifestLexer.printable(name)
                + "' is not a valid machine name ("
                + MachineNames.RULE
                + ")");
      }
      if (expectedName != null && !name.equals(expectedName)) {
        throw error(
            namePair,
            "'" + name + "' does not match the machine folder name '" + expectedName + "'");
      }
      return name;
    }

    private String value(String field) {
      ManifestLexer.Pair pair = pairs.get(field);
      return pair == null ? null : pair.value();
    }

    /** The field's value; null if it was refused (reported already). */
    private String required(String field) {
      String value = value(field);
      if (value == null && !refused.contains(field)) {
        throw new ManifestException(
            file,
            lastLine,
            field,
            "required field is missing (reached the end of the manifest without it)");
      }
      return value;
    }

    private MachineType type(String value) {
      for (MachineType type : MachineType.values()) {
        if (type.manifestValue().equals(value)) {
          return type;
        }
      }
      String hint = value.equals("nspawn") ? " (build2's nspawn containers are not supported)" : "";
      throw error(
          pairs.get("type"),
          "'" + value + "' is not a machine type; expected kvm or docker" + hint);
    }

    private String role() {
      String role = value("role");
      if (role == null) {
        return "build";
      }
      if (!role.equals("build") && !role.equals("auxiliary")) {
        throw error(pairs.get("role"), "'" + role + "' is not a role; expected build or auxiliary");
      }
      return role;
    }

    /** A size field in MiB, rounded up. */
    private Long size(String field) {
      Long kib = kib(field);
      return kib == null ? null : (kib + 1023) / 1024;
    }

    /** A size field in KiB: an integer (build2's unit) or a number with K, M or G. */
    private Long kib(String field) {
      String value = value(field);
      if (value == null) {
        return null;
      }
      ManifestLexer.Pair pair = pairs.get(field);
      Matcher m = SIZE.matcher(value);
      if (!m.matches()) {
        throw error(
            pair,
            "'"
                + ManifestLexer.printable(value)
                + "' is not a size (e.g. 2G, 512M, or KiB as an integer)");
      }
      long number = Long.parseLong(m.group(1));
      long kibPerUnit =
          switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "M" -> 1024L;
            case "G" -> 1024L * 1024;
            default -> 1L; // build2's unit, KiB, and an explicit K
          };
      if (number == 0) {
        throw error(
            pair,
            "'"
                + value
                + "' is zero; "
                + (field.startsWith("ram-")
                    ? "a machine needs some memory"
                    : "leave the field out for the daemon's default"));
      }
      if (number > MAX_MIB * 1024 / kibPerUnit) {
        throw error(
            pair, "'" + value + "' is too large (limit " + MAX_MIB / (1024 * 1024) + " TiB)");
      }
      return number * kibPerUnit;
    }

    private Integer cpus() {
      String value = value("cpus");
      if (value == null) {
        return null;
      }
      if (!CPUS.matcher(value).matches()) {
        throw error(
            pairs.get("cpus"),
            "'"
                + ManifestLexer.printable(value)
                + "' is not a number of CPUs (an integer from 1 to "
                + MAX_CPUS
                + ")");
      }
      int cpus = Integer.parseInt(value);
      if (cpus < 1 || cpus > MAX_CPUS) {
        throw error(pairs.get("cpus"), cpus + " is out of range (1 to " + MAX_CPUS + ")");
      }
      return cpus;
    }

    private String mac() {
      String value = value("mac");
      if (value == null) {
        return null;
      }
      ManifestLexer.Pair pair = pairs.get("mac");
      if (!MAC.matcher(value).matches()) {
        throw error(
            pair,
            "'"
                + ManifestLexer.printable(value)
                + "' is not a MAC address (six hex pairs separated by ':', e.g. 52:54:00:12:34:56)");
      }
      String mac = value.toLowerCase(Locale.ROOT);
      int firstOctet = Integer.parseInt(mac.substring(0, 2), 16);
      if ((firstOctet & 1) != 0) {
        throw error(
            pair,
            "'"
                + value
                + "' is a multicast address; a NIC needs a unicast one "
                + "(even first octet, e.g. 52:54:00:...)");
      }
      if (mac.equals("00:00:00:00:00:00")) {
        throw error(pair, "'" + value + "' is the all-zero address, which no NIC may use");
      }
      return mac;
    }

    private List<String> options() {
      String value = value("options");
      if (value == null) {
        return List.of();
      }
      return Arrays.stream(value.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    /** A file named by {@code field}, checked to be a regular file directly in the revision. */
    private String revisionFile(String field) {
      String value = value(field);
      if (value == null) {
        return null;
      }
      checkRevisionFile(pairs.get(field), value);
      return value;
    }

    /** The disk tells its format by its name, and its backing chain stays in the revision. */
    private void baseDisk(String disk) {
      String problem = DiskChain.problem(revisionDir, disk);
      if (problem != null) {
        throw error(pairs.get("disk"), problem);
      }
    }

    private void checkRevisionFile(ManifestLexer.Pair pair, String value) {
      if (value.contains("/") || value.contains("\\") || value.equals(".") || value.equals("..")) {
        throw error(
            pair,
            "'"
                + ManifestLexer.printable(value)
                + "' must be a plain file name in "
                + "the revision folder (no '/', '\\' or '..')");
      }
      Path path = revisionDir.resolve(value);
      if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
        throw error(pair, "'" + value + "' does not exist in " + revisionDir);
      }
      if (Files.isSymbolicLink(path)) {
        throw error(
            pair,
            "'"
                + value
                + "' in "
                + revisionDir
                + " is a symbolic link; copy (or hard-link) the file into the revision instead");
      }
      if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
        throw error(pair, "'" + value + "' in " + revisionDir + " is not a regular file");
      }
    }

    private String image(String value) {
      ManifestLexer.Pair pair = pairs.get("image");
      if (value.endsWith(Manifest.IMAGE_ARCHIVE_SUFFIX)) {
        checkRevisionFile(pair, value);
        return value;
      }
      if (value.length() > MAX_IMAGE_REFERENCE || !IMAGE_REFERENCE.matcher(value).matches()) {
        throw error(
            pair,
            "'"
                + ManifestLexer.printable(value)
                + "' is neither an archive in the "
                + "revision folder (a name ending in .tar) nor an image reference (e.g. "
                + "registry.local:5000/team/builder:1.2, lower-case repository names)");
      }
      return value;
    }

    private void needsKernel(String field) {
      if (pairs.containsKey(field) && !given("kernel")) {
        throw error(pairs.get(field), "only makes sense with 'kernel' (direct boot)");
      }
    }

    private void refusedFor(MachineType type, String... fields) {
      for (String field : fields) {
        if (pairs.containsKey(field)) {
          String other = type == MachineType.KVM ? "docker" : "kvm";
          throw error(
              pairs.get(field),
              "applies to " + other + " machines only, this one is " + type.manifestValue());
        }
      }
    }

    private ManifestException error(ManifestLexer.Pair pair, String problem) {
      return new ManifestException(file, pair.line(), pair.name(), problem);
    }
  }
}
