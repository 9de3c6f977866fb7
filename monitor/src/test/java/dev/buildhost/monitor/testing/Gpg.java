package dev.buildhost.monitor.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real {@code gpg} in a throw-away GNUPGHOME: makes keys, exports them and signs files the way
 * an operator would. {@link #close} stops the gpg-agent this home started.
 */
public final class Gpg implements AutoCloseable {
  private final Path home;
  private final Path work;

  public Gpg(Path dir) throws IOException {
    this.home = Files.createDirectories(dir.resolve("gnupg"));
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    this.work = Files.createDirectories(dir.resolve("gpg-work"));
  }

  /** A new ed25519 signing key; returns its fingerprint. */
  public String newKey(String uid) throws Exception {
    run("--quick-gen-key", uid, "ed25519", "sign", "never");
    return fingerprints(uid).get(0);
  }

  /** Adds a signing subkey to the key; returns the subkey's fingerprint. */
  public String addSigningSubkey(String fingerprint) throws Exception {
    run("--quick-add-key", fingerprint, "ed25519", "sign", "never");
    List<String> all = fingerprints(fingerprint);
    return all.get(all.size() - 1);
  }

  /** Primary fingerprint first, then the subkeys', in gpg's order. */
  public List<String> fingerprints(String key) throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : run("--with-colons", "--list-keys", key).split("\n")) {
      if (line.startsWith("fpr:")) {
        out.add(line.split(":")[9]);
      }
    }
    return out;
  }

  public byte[] export(String fingerprint, boolean armor) throws Exception {
    Path out = work.resolve("key-" + System.nanoTime());
    List<String> args = new ArrayList<>(List.of("--output", out.toString()));
    if (armor) {
      args.add("--armor");
    }
    args.addAll(List.of("--export", fingerprint));
    run(args.toArray(String[]::new));
    return Files.readAllBytes(out);
  }

  /** {@code gpg --detach-sign} of {@code data} by exactly this (sub)key. */
  public byte[] sign(byte[] data, String fingerprint, boolean armor) throws Exception {
    Path in = work.resolve("data-" + System.nanoTime());
    Files.write(in, data);
    Path out = work.resolve(in.getFileName() + ".sig");
    List<String> args =
        new ArrayList<>(List.of("--local-user", fingerprint + "!", "--output", out.toString()));
    if (armor) {
      args.add("--armor");
    }
    args.addAll(List.of("--detach-sign", in.toString()));
    run(args.toArray(String[]::new));
    return Files.readAllBytes(out);
  }

  private String run(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "gpg",
                "--homedir",
                home.toString(),
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                ""));
    cmd.addAll(List.of(args));
    Path log = work.resolve("gpg.log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(false).redirectError(log.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("gpg " + String.join(" ", args) + " did not finish");
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          "gpg "
              + String.join(" ", args)
              + " failed ("
              + p.exitValue()
              + "): "
              + Files.readString(log));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    Process p =
        new ProcessBuilder("gpgconf", "--homedir", home.toString(), "--kill", "all")
            .inheritIO()
            .start();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
