package dev.buildhost.manager.docker;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Collections;
import java.util.List;

/**
 * The tar given to the engine's {@code POST /images/load} for a revision's image archive, made
 * while it is sent (images are large: nothing is copied to disk) so that the archive cannot set
 * tags. The engine tags a loaded image with every {@code RepoTags} entry of its manifest.json,
 * moving tags away from images that hold them: an archive of machine A could take over {@code
 * debian:12} that machine B names, or {@code buildhost/b:1.0}. So:
 *
 * <ul>
 *   <li>a {@code docker save} archive is sent uncompressed, without its manifest.json, {@code
 *       repositories} and {@code index.json} (wherever they appear, whatever their type), followed
 *       by buildhost's manifest.json (the archive's, with {@code RepoTags} null) as the last entry:
 *       the engine extracts entries in order, so no earlier entry can stand in for it;
 *   <li>a root file system tar becomes a one-layer {@code docker save} archive: manifest.json, a
 *       config buildhost writes (deterministic, so the image id is known before loading), and the
 *       file itself as the layer.
 * </ul>
 *
 * <p>The caller then tags the loaded image itself, by the id it expects.
 */
final class LoadStream {

  private static final int BLOCK = 512;
  private static final byte[] END_OF_ARCHIVE = new byte[2 * BLOCK];

  private LoadStream() {}

  /**
   * A {@code docker save} archive without the entries that name tags, and buildhost's
   * manifest.json.
   */
  static InputStream ofSaved(ImageArchive archive) throws IOException {
    InputStream tar = ImageArchive.openTar(archive.file(), archive.gzip());
    InputStream kept = new Spliced(tar, archive.tagSources(), archive.endOfArchive(), archive);
    return concat(
        kept,
        new ByteArrayInputStream(entry("manifest.json", archive.untaggedManifest())),
        new ByteArrayInputStream(END_OF_ARCHIVE));
  }

  /** A root file system tar as the one layer of an image whose config is {@code config}. */
  static InputStream ofRootfs(ImageArchive archive, byte[] config, String configName)
      throws IOException {
    String layerName = archive.sha256() + "/layer.tar";
    byte[] manifest =
        ("[{\"Config\":\""
                + configName
                + "\",\"RepoTags\":null,\"Layers\":[\""
                + layerName
                + "\"]}]")
            .getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    head.write(entry("manifest.json", manifest));
    head.write(entry(configName, config));
    head.write(header(layerName, archive.size()));
    InputStream layer = new Exactly(Files.newInputStream(archive.file()), archive.size(), archive);
    return concat(
        new ByteArrayInputStream(head.toByteArray()),
        layer,
        new ByteArrayInputStream(new byte[padding(archive.size())]),
        new ByteArrayInputStream(END_OF_ARCHIVE));
  }

  private static InputStream concat(InputStream... parts) {
    return new SequenceInputStream(Collections.enumeration(List.of(parts)));
  }

  /** A regular file entry: header, content, padding. */
  static byte[] entry(String name, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(header(name, content.length));
    out.writeBytes(content);
    out.writeBytes(new byte[padding(content.length)]);
    return out.toByteArray();
  }

  private static int padding(long size) {
    return (int) ((BLOCK - size % BLOCK) % BLOCK);
  }

  /** A ustar header of a regular file, mode 0644, owned by root, dated 1970. */
  static byte[] header(String name, long size) {
    byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
    if (ascii.length > 100) {
      throw new IllegalArgumentException("tar entry name longer than 100 bytes: " + name);
    }
    byte[] header = new byte[BLOCK];
    System.arraycopy(ascii, 0, header, 0, ascii.length);
    octal(header, 100, 8, 0644);
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    if (size < 077777777777L) {
      octal(header, 124, 12, size);
    } else { // GNU base-256, which Go's reader takes: layers of 8 GiB and more
      header[124] = (byte) 0x80;
      for (int i = 0; i < 8; i++) {
        header[135 - i] = (byte) (size >>> (8 * i));
      }
    }
    octal(header, 136, 12, 0);
    header[156] = '0';
    System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, header, 257, 8);
    for (int i = 148; i < 156; i++) {
      header[i] = ' ';
    }
    long sum = 0;
    for (byte b : header) {
      sum += b & 0xff;
    }
    octal(header, 148, 7, sum);
    return header;
  }

  /** {@code width - 1} octal digits and a NUL. */
  private static void octal(byte[] header, int offset, int width, long value) {
    String digits = Long.toOctalString(value);
    String padded = "0".repeat(Math.max(0, width - 1 - digits.length())) + digits;
    System.arraycopy(padded.getBytes(StandardCharsets.US_ASCII), 0, header, offset, width - 1);
    header[offset + width - 1] = 0;
  }

  private static IOException changed(ImageArchive archive) {
    return new IOException(
        archive.file() + " changed since it was checked: start again to check it anew");
  }

  /** The bytes of a tar up to {@code end}, less the spans (in order, not overlapping). */
  private static final class Spliced extends FilterInputStream {
    private final List<ImageArchive.Span> skipped;
    private final long end;
    private final ImageArchive archive;
    private long position;
    private int nextSkip;

    Spliced(InputStream in, List<ImageArchive.Span> skipped, long end, ImageArchive archive) {
      super(in);
      this.skipped = skipped;
      this.end = end;
      this.archive = archive;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (nextSkip < skipped.size() && skipped.get(nextSkip).start() <= position) {
        ImageArchive.Span span = skipped.get(nextSkip++);
        long skip = span.end() - position;
        if (skip > 0) {
          try {
            in.skipNBytes(skip);
          } catch (java.io.EOFException e) {
            throw changed(archive);
          }
          position += skip;
        }
      }
      if (position >= end) {
        return -1;
      }
      long until = nextSkip < skipped.size() ? Math.min(end, skipped.get(nextSkip).start()) : end;
      int n = in.read(b, off, (int) Math.min(len, until - position));
      if (n < 0) {
        throw changed(archive);
      }
      position += n;
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      byte[] buffer = new byte[(int) Math.min(8192, Math.max(n, 1))];
      int read = read(buffer, 0, (int) Math.min(buffer.length, n));
      return Math.max(read, 0);
    }

    @Override
    public int available() {
      return 0;
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }

  /** Exactly {@code size} bytes of a file, or an error when it has fewer. */
  private static final class Exactly extends FilterInputStream {
    private final ImageArchive archive;
    private long left;

    Exactly(InputStream in, long size, ImageArchive archive) {
      super(in);
      this.left = size;
      this.archive = archive;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left == 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw changed(archive);
      }
      left -= n;
      return n;
    }

    @Override
    public int available() {
      return 0;
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
