package dev.buildhost.monitor.trust;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPSignatureSubpacketVector;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider;

/**
 * OpenPGP public keys and detached signatures, as {@code gpg --export [--armor]} and {@code gpg
 * --detach-sign [--armor]} write them, read and checked with BouncyCastle.
 *
 * <p>A signature is accepted when it verifies with a trusted primary key, or with a subkey that the
 * primary key bound for signing; neither may be revoked or expired. Only binary-document signatures
 * are accepted (what {@code gpg --detach-sign} makes without {@code --textmode}).
 */
public final class OpenPgpSignatures {
  private OpenPgpSignatures() {}

  /** The key rings in an armored or binary export. */
  public static List<PGPPublicKeyRing> readKeys(byte[] bytes, String where) throws TrustException {
    List<PGPPublicKeyRing> rings = new ArrayList<>();
    try (InputStream in = PGPUtil.getDecoderStream(new ByteArrayInputStream(bytes))) {
      new PGPPublicKeyRingCollection(in, new BcKeyFingerprintCalculator())
          .getKeyRings()
          .forEachRemaining(rings::add);
    } catch (IOException | PGPException | RuntimeException e) {
      throw new TrustException(where + " is not an OpenPGP public key (" + e.getMessage() + ")", e);
    }
    if (rings.isEmpty()) {
      throw new TrustException(where + " is not an OpenPGP public key (it holds no key)", null);
    }
    return rings;
  }

  /** The primary key's fingerprint in upper-case hex. */
  public static String fingerprint(PGPPublicKeyRing ring) {
    return HexFormat.of().formatHex(ring.getPublicKey().getFingerprint()).toUpperCase(Locale.ROOT);
  }

  /**
   * Checks a detached signature of {@code data}.
   *
   * @param now when the keys must be valid
   * @return which key made the signature, for the log
   * @throws TrustException saying why no signature verified
   */
  public static String verify(
      byte[] data, byte[] signature, List<PGPPublicKeyRing> trusted, Instant now)
      throws TrustException {
    List<String> problems = new ArrayList<>();
    for (PGPSignature sig : signatures(signature)) {
      String signer = String.format("%016X", sig.getKeyID());
      PGPPublicKeyRing ring = null;
      PGPPublicKey key = null;
      for (PGPPublicKeyRing r : trusted) {
        key = r.getPublicKey(sig.getKeyID());
        if (key != null) {
          ring = r;
          break;
        }
      }
      if (key == null) {
        problems.add("it was made by key " + signer + ", which is not the trusted key");
        continue;
      }
      if (sig.getSignatureType() != PGPSignature.BINARY_DOCUMENT) {
        problems.add(
            "it is not a binary-document signature (type "
                + sig.getSignatureType()
                + "); sign with gpg --detach-sign, without --textmode");
        continue;
      }
      String unusable = unusable(ring, key, now);
      if (unusable != null) {
        problems.add("key " + signer + " " + unusable);
        continue;
      }
      try {
        sig.init(new BcPGPContentVerifierBuilderProvider(), key);
        sig.update(data);
        if (sig.verify()) {
          return "key " + signer + " of " + fingerprint(ring);
        }
        problems.add(
            "the signature by key " + signer + " does not match the file (changed after signing?)");
      } catch (PGPException | RuntimeException e) {
        problems.add("the signature by key " + signer + " cannot be checked: " + e.getMessage());
      }
    }
    throw new TrustException(String.join("; ", problems), null);
  }

  private static List<PGPSignature> signatures(byte[] bytes) throws TrustException {
    List<PGPSignature> out = new ArrayList<>();
    try (InputStream in = PGPUtil.getDecoderStream(new ByteArrayInputStream(bytes))) {
      Object o = new BcPGPObjectFactory(in).nextObject();
      if (o instanceof PGPCompressedData c) {
        o = new BcPGPObjectFactory(c.getDataStream()).nextObject();
      }
      if (o instanceof PGPSignatureList list) {
        list.forEach(out::add);
      }
    } catch (IOException | PGPException | RuntimeException e) {
      throw new TrustException(
          "the signature file is not an OpenPGP signature (" + e.getMessage() + ")", e);
    }
    if (out.isEmpty()) {
      throw new TrustException("the signature file is not a detached OpenPGP signature", null);
    }
    return out;
  }

  /** Why {@code key} of {@code ring} may not sign now, or null. */
  private static String unusable(PGPPublicKeyRing ring, PGPPublicKey key, Instant now) {
    PGPPublicKey primary = ring.getPublicKey();
    if (primary.hasRevocation()) {
      return "belongs to a revoked key";
    }
    if (expired(primary, now)) {
      return "belongs to a key that expired";
    }
    if (key.getKeyID() == primary.getKeyID()) {
      return null;
    }
    if (key.hasRevocation()) {
      return "is a revoked subkey";
    }
    if (expired(key, now)) {
      return "is an expired subkey";
    }
    Iterator<PGPSignature> bindings = key.getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
    while (bindings.hasNext()) {
      PGPSignature b = bindings.next();
      try {
        b.init(new BcPGPContentVerifierBuilderProvider(), primary);
        if (b.verifyCertification(primary, key)) {
          PGPSignatureSubpacketVector v = b.getHashedSubPackets();
          return v != null && (v.getKeyFlags() & KeyFlags.SIGN_DATA) != 0
              ? null
              : "is a subkey not meant for signing";
        }
      } catch (PGPException | RuntimeException e) {
        // a binding that cannot be checked binds nothing
      }
    }
    return "is a subkey that the trusted key did not bind";
  }

  private static boolean expired(PGPPublicKey key, Instant now) {
    long valid = key.getValidSeconds();
    return valid > 0 && key.getCreationTime().toInstant().plusSeconds(valid).isBefore(now);
  }
}
