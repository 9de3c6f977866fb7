package dev.buildhost.manager.bootstrap;

import dev.buildhost.manager.model.ManagerException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's current toolchains, by name. The monitor publishes each toolchain {@code NAME} into
 * {@code <root>/tftp/toolchain/NAME/} together with its checksum file, always also named {@code
 * toolchain.sha256} there (doc/monitor.md, "Toolchains and their ids"); the toolchain's id is the
 * SHA-256 of that file, the same id the monitor hands to its commands. The daemon's {@code
 * toolchains} setting gives the id of a toolchain on hosts without the monitor, and overrides a
 * published one.
 *
 * <p>Nothing is cached: the folder is read on every call, so a toolchain the monitor publishes anew
 * is seen at once.
 */
public final class Toolchains {
  private static final Logger LOG = LoggerFactory.getLogger(Toolchains.class);

  /** A toolchain name, as the monitor allows it. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,99}");

  /** A toolchain id given by the setting. */
  public static final Pattern ID = Pattern.compile("[A-Za-z0-9._+-]{1,128}");

  /** The checksum file's name in every published toolchain folder (the monitor's contract). */
  static final String CHECKSUM_FILE = "toolchain.sha256";

  private static final long MAX_CHECKSUM_FILE = 16L << 20;

  private final Path dir;
  private final Map<String, String> configured;

  /**
   * @param dir {@code <root>/tftp/toolchain}
   * @param configured ids from the {@code toolchains} setting, by name
   */
  public Toolchains(Path dir, Map<String, String> configured) {
    this.dir = dir;
    this.configured = Map.copyOf(configured);
  }

  /** The current toolchains, by name. */
  public Map<String, Toolchain> current() {
    Map<String, Toolchain> found = new TreeMap<>();
    if (Files.isDirectory(dir)) {
      try (DirectoryStream<Path> folders = Files.newDirectoryStream(dir)) {
        for (Path folder : folders) {
          String name = folder.getFileName().toString();
          if (!NAME.matcher(name).matches() || !Files.isDirectory(folder)) {
            continue; // a hidden folder is a toolchain the monitor is still publishing
          }
          try {
            Path sums = checksumFile(folder);
            if (sums == null) {
              LOG.debug("toolchain folder {} has no checksum file; not a toolchain", folder);
              continue;
            }
            found.put(name, new Toolchain(name, sha256(sums), "published"));
          } catch (IOException e) {
            LOG.warn("cannot read the checksum file of toolchain {}: {}", name, e.toString());
          }
        }
      } catch (IOException e) {
        LOG.warn("cannot read the toolchains in {}: {}", dir, e.toString());
      }
    }
    configured.forEach((name, id) -> found.put(name, new Toolchain(name, id, "setting")));
    return found;
  }

  /**
   * The toolchain a request names; with no name, the host's only toolchain.
   *
   * @throws ManagerException BAD_REQUEST for a malformed name or when the host has several and the
   *     request names none, NOT_FOUND for a name the host does not have, CONFLICT when it has none
   */
  public Toolchain choose(String name) {
    Map<String, Toolchain> current = current();
    if (name == null || name.isBlank()) {
      if (current.size() == 1) {
        return current.values().iterator().next();
      }
      if (current.isEmpty()) {
        throw new ManagerException(
            ManagerException.Kind.CONFLICT,
            "this host has no toolchain: none is published under "
                + dir
                + " and the daemon's 'toolchains' setting names none");
      }
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST,
          "this host has several toolchains ("
              + String.join(", ", current.keySet())
              + "): name one with 'toolchain'");
    }
    if (!NAME.matcher(name).matches()) {
      throw new ManagerException(
          ManagerException.Kind.BAD_REQUEST,
          "toolchain name '"
              + printable(name)
              + "' is malformed: letters, digits, '.', '_', '+', '-', at most 100, not starting"
              + " with '.'");
    }
    Toolchain toolchain = current.get(name);
    if (toolchain == null) {
      throw new ManagerException(
          ManagerException.Kind.NOT_FOUND,
          "this host has no toolchain '"
              + name
              + "'"
              + (current.isEmpty() ? "" : "; it has " + String.join(", ", current.keySet())));
    }
    return toolchain;
  }

  /** The folder's checksum file, or null when there is none (not a published toolchain). */
  private static Path checksumFile(Path folder) {
    Path file = folder.resolve(CHECKSUM_FILE);
    return Files.isRegularFile(file) ? file : null;
  }

  private static String sha256(Path file) throws IOException {
    if (Files.size(file) > MAX_CHECKSUM_FILE) {
      throw new IOException(file + " is larger than " + MAX_CHECKSUM_FILE + " bytes");
    }
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[65536];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  private static String printable(String text) {
    String cut = text.length() > 100 ? text.substring(0, 100) + "..." : text;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
