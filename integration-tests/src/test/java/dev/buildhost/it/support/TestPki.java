package dev.buildhost.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate authority of a test's, made with the real openssl in a folder of the test's: {@code
 * ca.pem} and {@code ca.key}, and the certificates it signs ({@code NAME.pem}, {@code NAME.key}),
 * valid for two days.
 */
public final class TestPki {

  private final Path openssl;
  private final Path dir;

  private TestPki(Path openssl, Path dir) {
    this.openssl = openssl;
    this.dir = dir;
  }

  /** A new authority in {@code dir} (made if missing), whose certificate has {@code subject}. */
  public static TestPki create(Path dir, String subject) throws Exception {
    TestPki pki = new TestPki(Requirement.command("openssl"), Files.createDirectories(dir));
    pki.openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        subject,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem");
    return pki;
  }

  /** The authority's certificate (PEM). */
  public Path ca() {
    return dir.resolve("ca.pem");
  }

  /** The certificate {@code NAME.pem} (PEM) of {@link #certificate}. */
  public Path cert(String name) {
    return dir.resolve(name + ".pem");
  }

  /** The unencrypted private key {@code NAME.key} (PEM, PKCS#8) of {@link #certificate}. */
  public Path key(String name) {
    return dir.resolve(name + ".key");
  }

  /**
   * A key and a certificate signed by the authority, with {@code subject} and the one X.509v3
   * {@code extension} given (such as {@code subjectAltName=IP:127.0.0.1}).
   */
  public void certificate(String name, String subject, String extension) throws Exception {
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        name + ".key",
        "-out",
        name + ".csr");
    Files.writeString(dir.resolve(name + ".ext"), extension + "\n");
    openssl(
        "x509",
        "-req",
        "-in",
        name + ".csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        name + ".ext",
        "-out",
        name + ".pem");
  }

  /** The key and certificate of {@link #certificate} as a PKCS#12 key store, for a JDK server. */
  public Path pkcs12(String name, String password) throws Exception {
    openssl(
        "pkcs12",
        "-export",
        "-in",
        name + ".pem",
        "-inkey",
        name + ".key",
        "-passout",
        "pass:" + password,
        "-out",
        name + ".p12");
    return dir.resolve(name + ".p12");
  }

  private void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(openssl.toString()));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl ended: " + command);
    assertEquals(0, p.exitValue(), command + ": " + out);
  }
}
