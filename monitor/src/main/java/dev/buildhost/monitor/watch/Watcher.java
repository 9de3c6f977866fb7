package dev.buildhost.monitor.watch;

import dev.buildhost.monitor.bootstrap.ChecksumFile;
import dev.buildhost.monitor.bootstrap.ChecksumFormatException;
import dev.buildhost.monitor.http.FetchException;
import dev.buildhost.monitor.http.HttpFetcher;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads the two watched things once each: the OS build-id (the text of the file at
 * buildid_url, trimmed) and the toolchain id (the SHA-256 of the checksum file at
 * toolchain_url). A fetch that fails or times out, an empty or binary build-id and a malformed
 * checksum file are all "unknown": the check says so and is simply tried again later.
 */
public final class Watcher {
  /** A build-id is a short line of text; more is refused. */
  public static final long MAX_BUILDID_BYTES = 64 * 1024;
  private final HttpFetcher fetcher;

  public Watcher(HttpFetcher fetcher) {
    this.fetcher = fetcher;
  }

  public Reading buildId(URI url) {
    try {
      byte[] bytes = fetcher.fetch(url, MAX_BUILDID_BYTES).bytes();
      String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString().strip();
      if (text.isEmpty()) {
        return Reading.unknown("build-id at " + url + " is empty");
      }
      return Reading.of(text);
    } catch (FetchException e) {
      return Reading.unknown("build-id: " + e.getMessage());
    } catch (CharacterCodingException e) {
      return Reading.unknown("build-id at " + url + " is not text");
    }
  }

  public Reading toolchainId(URI url) {
    try {
      HttpFetcher.Fetched f = fetcher.fetch(url, ChecksumFile.MAX_BYTES);
      ChecksumFile.parse(url.toString(), f.bytes());
      return Reading.of(f.sha256());
    } catch (FetchException e) {
      return Reading.unknown("toolchain checksum file: " + e.getMessage());
    } catch (ChecksumFormatException e) {
      return Reading.unknown("toolchain checksum file is malformed (not treated as a change): " + e.getMessage());
    }
  }
}
