package dev.buildhost.monitor.trust;

import dev.buildhost.monitor.http.FetchException;
import dev.buildhost.monitor.http.HttpFetcher;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.time.Clock;
import java.util.List;
import java.util.stream.Collectors;
import org.bouncycastle.openpgp.PGPPublicKeyRing;

/**
 * Checks that the toolchain checksum file was signed by the key {@code toolchain_trust} pins: the
 * detached signature is fetched from {@code <checksum file URL>.sig}; the key is read from the
 * pinned key file, or, when a fingerprint is pinned, fetched from {@code <checksum file URL>.key}
 * and used only if its primary key has that fingerprint. The files the checksum file lists are
 * covered through their SHA-256 sums.
 */
public final class ChecksumFileTrust {
  /** A detached signature is a few hundred bytes. */
  public static final long MAX_SIGNATURE_BYTES = 64 * 1024;

  /** An exported public key with its signatures is a few KiB. */
  public static final long MAX_KEY_BYTES = 1024 * 1024;

  private final PinnedKey pin;
  private final HttpFetcher fetcher;
  private final Clock clock;

  public ChecksumFileTrust(PinnedKey pin, HttpFetcher fetcher, Clock clock) {
    this.pin = pin;
    this.fetcher = fetcher;
    this.clock = clock;
  }

  public PinnedKey pin() {
    return pin;
  }

  /** The signature's bytes, as fetched. */
  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  public record Verified(byte[] signature, String signer) {}

  /**
   * @param sumsUrl where the checksum file came from
   * @param sums its bytes
   * @throws FetchException when the signature or the key cannot be fetched (worth another try)
   * @throws TrustException when they do not prove that the pinned key signed {@code sums}
   */
  public Verified verify(URI sumsUrl, byte[] sums) throws FetchException, TrustException {
    URI sigUrl = beside(sumsUrl, ".sig");
    byte[] signature;
    try {
      signature = fetcher.fetch(sigUrl, MAX_SIGNATURE_BYTES).bytes();
    } catch (FetchException e) {
      if (e.status() == 404) {
        throw new TrustException("it is not signed: no signature at " + sigUrl, e);
      }
      throw e;
    }
    List<PGPPublicKeyRing> keys = keys(sumsUrl);
    String signer = OpenPgpSignatures.verify(sums, signature, keys, clock.instant());
    return new Verified(signature, signer);
  }

  private List<PGPPublicKeyRing> keys(URI sumsUrl) throws FetchException, TrustException {
    if (pin.keyFile() != null) {
      byte[] bytes;
      try (InputStream in = Files.newInputStream(pin.keyFile())) {
        bytes = in.readNBytes((int) MAX_KEY_BYTES + 1);
      } catch (IOException e) {
        throw new TrustException(
            "the toolchain_trust key file " + pin.keyFile() + " cannot be read: " + e, e);
      }
      if (bytes.length > MAX_KEY_BYTES) {
        throw new TrustException(
            "the toolchain_trust key file "
                + pin.keyFile()
                + " is larger than "
                + MAX_KEY_BYTES
                + " bytes",
            null);
      }
      return OpenPgpSignatures.readKeys(bytes, "the toolchain_trust key file " + pin.keyFile());
    }
    URI keyUrl = beside(sumsUrl, ".key");
    byte[] bytes;
    try {
      bytes = fetcher.fetch(keyUrl, MAX_KEY_BYTES).bytes();
    } catch (FetchException e) {
      if (e.status() == 404) {
        throw new TrustException(
            "no key with the pinned fingerprint " + pin.fingerprint() + " at " + keyUrl, e);
      }
      throw e;
    }
    List<PGPPublicKeyRing> all = OpenPgpSignatures.readKeys(bytes, "the key at " + keyUrl);
    List<PGPPublicKeyRing> pinned =
        all.stream()
            .filter(r -> OpenPgpSignatures.fingerprint(r).equals(pin.fingerprint()))
            .toList();
    if (pinned.isEmpty()) {
      throw new TrustException(
          "the key at "
              + keyUrl
              + " has the fingerprint "
              + all.stream().map(OpenPgpSignatures::fingerprint).collect(Collectors.joining(", "))
              + ", not the pinned "
              + pin.fingerprint(),
          null);
    }
    return pinned;
  }

  /**
   * {@code http://h/t/toolchain.sha256} with {@code .sig} gives {@code
   * http://h/t/toolchain.sha256.sig}.
   */
  public static URI beside(URI url, String suffix) {
    try {
      return new URI(
          url.getScheme(),
          url.getRawAuthority() == null ? null : url.getAuthority(),
          url.getPath() + suffix,
          url.getQuery(),
          null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "cannot name the file beside " + url + ": " + e.getMessage(), e);
    }
  }
}
