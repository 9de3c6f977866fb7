package dev.buildhost.monitor.watch;

import dev.buildhost.monitor.bootstrap.ChecksumFile;
import dev.buildhost.monitor.bootstrap.ChecksumFormatException;
import dev.buildhost.monitor.http.FetchException;
import dev.buildhost.monitor.http.HttpFetcher;
import dev.buildhost.monitor.trust.ChecksumFileTrust;
import dev.buildhost.monitor.trust.TrustException;
import java.net.URI;

/**
 * Reads the two watched things once each: the OS build-id (the text of the file at buildid_url,
 * trimmed) and the toolchain id (the SHA-256 of the checksum file at toolchain_url). A fetch that
 * fails or times out, a body that is not a plausible build-id (see {@link BuildIdText}) and a
 * malformed checksum file are all "unknown": the check says so and is simply tried again later.
 */
public final class Watcher {
  /** A build-id is a short line of text: a bigger body is not fetched whole. */
  public static final long MAX_BUILDID_BYTES = 4096;

  private final HttpFetcher fetcher;
  private final long maxChecksumFileSize;

  public Watcher(HttpFetcher fetcher, long maxChecksumFileSize) {
    this.fetcher = fetcher;
    this.maxChecksumFileSize = maxChecksumFileSize;
  }

  public Reading buildId(URI url) {
    try {
      HttpFetcher.Fetched f = fetcher.fetch(url, MAX_BUILDID_BYTES);
      return Reading.of(BuildIdText.parse(f.bytes(), f.contentType()));
    } catch (FetchException e) {
      return Reading.unknown("build-id: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      return Reading.unknown(
          "build-id at " + url + " " + e.getMessage() + " (not treated as a change)");
    }
  }

  /**
   * @param trust checks the checksum file's signature when the toolchain has a toolchain_trust,
   *     else null: an unsigned or badly signed checksum file is then unknown, never a reason to
   *     reboot
   */
  public Reading toolchainId(URI url, ChecksumFileTrust trust) {
    try {
      HttpFetcher.Fetched f = fetcher.fetch(url, maxChecksumFileSize);
      ChecksumFile.parse(url.toString(), f.bytes());
      if (trust != null) {
        trust.verify(url, f.bytes());
      }
      return Reading.of(f.sha256());
    } catch (FetchException e) {
      return Reading.unknown("toolchain checksum file: " + e.getMessage());
    } catch (TrustException e) {
      return Reading.unknown(
          "toolchain checksum file "
              + url
              + " is not signed by "
              + trust.pin()
              + " (not treated as a change): "
              + e.getMessage());
    } catch (ChecksumFormatException e) {
      return Reading.unknown(
          "toolchain checksum file is malformed (not treated as a change): " + e.getMessage());
    }
  }
}
