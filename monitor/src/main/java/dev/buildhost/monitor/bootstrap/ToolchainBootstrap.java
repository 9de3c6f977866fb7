package dev.buildhost.monitor.bootstrap;

import dev.buildhost.common.files.Trees;
import dev.buildhost.monitor.config.MonitorConfig;
import dev.buildhost.monitor.config.Toolchain;
import dev.buildhost.monitor.http.FetchException;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.http.ProgressListener;
import dev.buildhost.monitor.process.CommandException;
import dev.buildhost.monitor.process.CommandRunner;
import dev.buildhost.monitor.trust.ChecksumFileTrust;
import dev.buildhost.monitor.trust.TrustException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches the toolchain named by its checksum file, verifies every file's SHA-256 and publishes
 * them read-only under {@code <root>/tftp/toolchain/<name>/}, then runs the install and agent-build
 * commands.
 *
 * <p>With {@code toolchain_trust} set, the checksum file must carry a detached OpenPGP signature by
 * the pinned key ({@link ChecksumFileTrust}) before anything is downloaded; an unsigned or badly
 * signed toolchain is refused. Downloads are capped ({@code max_checksum_file_size}, {@code
 * max_toolchain_file_size}).
 *
 * <p>Publishing is all or nothing: the files are downloaded into a hidden folder beside the target
 * ({@code .<name>.tmp-*}, same file system), verified all, made read-only, and only then renamed
 * into place. A failed fetch or a wrong checksum removes the hidden folder and leaves whatever was
 * published before untouched.
 */
public final class ToolchainBootstrap {
  private static final Logger LOG = LoggerFactory.getLogger(ToolchainBootstrap.class);

  /** The name every published checksum file also has, whatever its URL's file name. */
  public static final String CHECKSUM_FILE = "toolchain.sha256";

  private final MonitorConfig cfg;
  private final Toolchain toolchain;
  private final HttpFetcher fetcher;
  private final ProgressListener progress;
  private final ChecksumFileTrust trust;

  public ToolchainBootstrap(
      MonitorConfig cfg, Toolchain toolchain, HttpFetcher fetcher, ProgressListener progress) {
    this(cfg, toolchain, fetcher, progress, Clock.systemUTC());
  }

  /**
   * @param toolchain which of the configured toolchains
   * @param clock when the trusted key must be valid
   */
  public ToolchainBootstrap(
      MonitorConfig cfg,
      Toolchain toolchain,
      HttpFetcher fetcher,
      ProgressListener progress,
      Clock clock) {
    this.cfg = cfg;
    this.toolchain = toolchain;
    this.fetcher = fetcher;
    this.progress = progress;
    this.trust =
        toolchain.trustedKey() == null
            ? null
            : new ChecksumFileTrust(toolchain.trustedKey(), fetcher, clock);
  }

  public Toolchain toolchain() {
    return toolchain;
  }

  /**
   * A published toolchain.
   *
   * @param toolchainId SHA-256 of the checksum file: what the watch compares
   * @param checksumFile the checksum file's bytes as fetched
   */
  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  public record Published(
      String name, Path dir, String toolchainId, byte[] checksumFile, ChecksumFile listing) {}

  /** Fetches the checksum file, with retries. */
  private HttpFetcher.Fetched fetchChecksumFile() throws BootstrapException {
    URI url = toolchain.url();
    return withRetries("checksum file " + url, () -> fetcher.fetch(url, cfg.maxChecksumFileSize()));
  }

  /**
   * With toolchain_trust set, proves that the pinned key signed the checksum file (fetches are
   * retried; a bad or missing signature is not).
   *
   * @return the signature, or null when no key is pinned
   */
  private ChecksumFileTrust.Verified verify(HttpFetcher.Fetched sums) throws BootstrapException {
    if (trust == null) {
      return null;
    }
    URI url = toolchain.url();
    TrustException[] refused = new TrustException[1];
    ChecksumFileTrust.Verified v =
        withRetries(
            "signature of " + url,
            () -> {
              try {
                return trust.verify(url, sums.bytes());
              } catch (TrustException e) {
                refused[0] = e;
                return null;
              }
            });
    if (v == null) {
      throw new BootstrapException(
          "toolchain checksum file "
              + url
              + " is not signed by "
              + trust.pin()
              + ": "
              + refused[0].getMessage()
              + "; nothing was installed",
          refused[0]);
    }
    LOG.info(
        "toolchain checksum file {} is signed by {} (trusted: {})", url, v.signer(), trust.pin());
    return v;
  }

  /** Downloads, verifies and publishes the toolchain; on any failure nothing new is installed. */
  public Published fetchAndPublish() throws BootstrapException {
    URI url = toolchain.url();
    String name = toolchain.name();
    HttpFetcher.Fetched sums = fetchChecksumFile();
    ChecksumFileTrust.Verified signed = verify(sums);
    ChecksumFile listing;
    try {
      listing = ChecksumFile.parse(url.toString(), sums.bytes());
    } catch (ChecksumFormatException e) {
      throw new BootstrapException(
          "toolchain checksum file unusable: " + e.getMessage() + "; nothing was installed");
    }
    if (listing.entries().stream().anyMatch(e -> e.file().equals(CHECKSUM_FILE))) {
      throw new BootstrapException(
          "toolchain checksum file "
              + url
              + " lists a file named "
              + CHECKSUM_FILE
              + ", the name under which the checksum file itself is published (it gives the"
              + " toolchain's id); rename that file; nothing was installed");
    }
    LOG.info(
        "toolchain {}: {} files listed in {} (toolchain id {})",
        name,
        listing.entries().size(),
        url,
        sums.sha256());
    Path parent = cfg.toolchainsDir();
    Path target = parent.resolve(name);
    Path tmp;
    try {
      Files.createDirectories(parent);
      removeLeftovers(parent, name);
      tmp = Files.createTempDirectory(parent, "." + name + ".tmp-");
    } catch (IOException e) {
      throw new BootstrapException("cannot prepare " + parent + ": " + e, e);
    }
    try {
      for (ChecksumFile.Entry entry : listing.entries()) {
        URI fileUrl = url.resolve(entry.file());
        Path file = tmp.resolve(entry.file());
        Files.createDirectories(file.getParent());
        HttpFetcher.Downloaded d =
            withRetries(
                entry.file() + " from " + fileUrl,
                () ->
                    fetcher.download(
                        fileUrl, file, entry.file(), cfg.maxToolchainFileSize(), progress));
        if (!d.sha256().equals(entry.sha256())) {
          throw new BootstrapException(
              "checksum mismatch for "
                  + entry.file()
                  + " (from "
                  + fileUrl
                  + "): expected "
                  + entry.sha256()
                  + " as listed in "
                  + url
                  + ", got "
                  + d.sha256()
                  + "; nothing was installed");
        }
        LOG.info("verified {} ({} bytes, sha256 {})", entry.file(), d.size(), d.sha256());
      }
      String sumsName = fileName(url);
      if (listing.entries().stream().noneMatch(e -> e.file().equals(sumsName))) {
        Files.write(tmp.resolve(sumsName), sums.bytes());
      }
      if (!sumsName.equals(CHECKSUM_FILE)) {
        Files.write(tmp.resolve(CHECKSUM_FILE), sums.bytes());
      }
      if (signed != null
          && listing.entries().stream().noneMatch(e -> e.file().equals(sumsName + ".sig"))) {
        Files.write(tmp.resolve(sumsName + ".sig"), signed.signature());
      }
      Trees.makeReadOnly(tmp);
      publish(tmp, target);
    } catch (IOException e) {
      throw new BootstrapException(
          "cannot store toolchain "
              + name
              + " under "
              + parent
              + ": "
              + e
              + "; nothing was installed",
          e);
    } finally {
      Trees.deleteQuietly(tmp);
    }
    LOG.info("toolchain {} published read-only in {}", name, target);
    return new Published(name, target, sums.sha256(), sums.bytes(), listing);
  }

  /** Runs the install and then the agent-build command, if configured, in the published folder. */
  public void runCommands(Published p) throws BootstrapException {
    Map<String, String> env = environment(p);
    try {
      if (cfg.installCommand() != null) {
        CommandRunner.shell("install", cfg.installCommand(), p.dir(), env, cfg.commandTimeout());
      }
      if (cfg.agentBuildCommand() != null) {
        CommandRunner.shell(
            "agent-build", cfg.agentBuildCommand(), p.dir(), env, cfg.commandTimeout());
      }
    } catch (CommandException e) {
      throw new BootstrapException(e.getMessage(), e);
    }
  }

  /** What the install, agent-build and agent commands are told about the toolchain. */
  public Map<String, String> environment(Published p) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BUILDHOST_ROOT", cfg.root().toString());
    env.put("BUILDHOST_TOOLCHAIN_NAME", p.name());
    env.put("BUILDHOST_TOOLCHAIN_DIR", p.dir().toString());
    env.put("BUILDHOST_TOOLCHAIN_URL", toolchain.url().toString());
    env.put("BUILDHOST_TOOLCHAIN_ID", p.toolchainId());
    if (toolchain.trust() != null) {
      env.put("BUILDHOST_TOOLCHAIN_TRUST", toolchain.trust());
    }
    return env;
  }

  /** The last path segment of a URL ({@code toolchain.sha256}). */
  static String fileName(URI url) {
    String path = url.getPath() == null ? "" : url.getPath();
    String f = path.substring(path.lastIndexOf('/') + 1);
    return MonitorConfig.isValidName(f) ? f : "toolchain.sha256";
  }

  /** Renames tmp to target; an existing target is moved aside first and then removed. */
  private static void publish(Path tmp, Path target) throws IOException {
    if (!Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      move(tmp, target);
      return;
    }
    Path old = target.resolveSibling("." + target.getFileName() + ".old-" + System.nanoTime());
    move(target, old);
    try {
      move(tmp, target);
    } catch (IOException e) {
      move(old, target);
      throw e;
    }
    Trees.deleteQuietly(old);
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot rename " + from + " to " + to + " atomically", e);
    }
  }

  /** Removes hidden folders a crashed run left beside the target. */
  private static void removeLeftovers(Path parent, String name) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, "." + name + ".{tmp,old}-*")) {
      for (Path p : ds) {
        LOG.info("removing leftover {}", p);
        Trees.deleteQuietly(p);
      }
    }
  }

  private interface Attempt<T> {
    T run() throws FetchException;
  }

  private <T> T withRetries(String what, Attempt<T> attempt) throws BootstrapException {
    int tries = cfg.fetchRetries() + 1;
    for (int i = 1; ; i++) {
      try {
        return attempt.run();
      } catch (FetchException e) {
        if (!e.retriable()) {
          throw new BootstrapException(
              "cannot fetch " + what + ": " + e.getMessage() + "; nothing was installed", e);
        }
        if (i >= tries) {
          throw new BootstrapException(
              "cannot fetch "
                  + what
                  + " after "
                  + tries
                  + " tries: "
                  + e.getMessage()
                  + "; nothing was installed",
              e);
        }
        LOG.warn(
            "fetching {} failed (try {} of {}): {}; trying again in {} ms",
            what,
            i,
            tries,
            e.getMessage(),
            cfg.retryDelay().toMillis());
        try {
          Thread.sleep(cfg.retryDelay().toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new BootstrapException("interrupted while fetching " + what, ie);
        }
      }
    }
  }
}
