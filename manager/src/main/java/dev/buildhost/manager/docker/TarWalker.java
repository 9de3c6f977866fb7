package dev.buildhost.manager.docker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Walks the entries of a tar stream as strictly as the engine reads it (Go's archive/tar): every
 * header's checksum is verified and an archive that ends inside a header or inside an entry's data
 * is reported as truncated. Understands ustar names (prefix + name), GNU long names and PAX {@code
 * path} and {@code size} records. Commons Compress was not used because it does not verify header
 * checksums, so it accepts archives the engine then refuses.
 */
final class TarWalker {

  /**
   * Receives each entry; {@code data} gives exactly the entry's content. {@code start} is the
   * offset in the tar stream of the entry's first header block (a GNU long name or PAX header that
   * belongs to it, else its own header); the entry ends where the next one starts, or at {@link
   * #endOfArchive()}.
   */
  interface Visitor {
    void entry(String name, char type, long size, long start, InputStream data) throws IOException;
  }

  /**
   * PAX headers and GNU long names are a few hundred bytes; larger ones are not read into memory.
   */
  private static final int MAX_EXTENDED_HEADER = 1 << 20;

  private static final int BLOCK = 512;

  private final InputStream in;
  private long offset;
  private long endOfArchive = -1;

  TarWalker(InputStream in) {
    this.in = in;
  }

  /** Bytes of the tar read so far. */
  long offset() {
    return offset;
  }

  /**
   * Where the archive's entries end, once {@link #walk} returned: the offset of the end-of-archive
   * block, or of the end of the stream when it has none.
   */
  long endOfArchive() {
    return endOfArchive;
  }

  /**
   * Visits every entry up to the end-of-archive block (or the end of the stream, which tar readers
   * accept at an entry boundary). Returns the number of entries.
   *
   * @throws TarException for a damaged or truncated archive; the message says where
   */
  int walk(Visitor visitor) throws IOException {
    byte[] header = new byte[BLOCK];
    int entries = 0;
    String longName = null;
    Long paxSize = null;
    long start = -1;
    while (true) {
      long headerOffset = offset;
      int n = readBlock(header);
      if (n == 0) {
        endOfArchive = headerOffset;
        return entries;
      }
      if (n < BLOCK) {
        throw new TarException(
            "truncated: the archive ends inside the header at byte " + headerOffset);
      }
      if (isZero(header)) {
        endOfArchive = headerOffset;
        return entries;
      }
      if (!checksumMatches(header)) {
        throw new TarException("damaged header at byte " + headerOffset + " (checksum mismatch)");
      }
      if (start < 0) {
        start = headerOffset;
      }
      char type = (char) header[156];
      // Like Go's archive/tar (the engine's reader): a PAX size record overrides the header's.
      long size =
          paxSize != null && type != 'x' && type != 'g' ? paxSize : parseSize(header, headerOffset);
      String name = longName != null ? longName : name(header);
      longName = null;
      paxSize = null;
      BoundedStream data = new BoundedStream(size, name);
      switch (type) {
        case 'L' -> longName = cString(extendedHeader(data, size, name));
        case 'x' -> {
          Map<String, String> records = paxRecords(extendedHeader(data, size, name));
          longName = records.get("path");
          paxSize = paxSize(records.get("size"), headerOffset);
        }
        case 'K' -> extendedHeader(data, size, name); // GNU long link name: not needed
        case 'g' -> {
          data.skipRest(); // a global PAX header: Go's reader hands it over as it is and applies
          // nothing
          start = -1;
        }
        default -> {
          entries++;
          visitor.entry(name, type == 0 ? '0' : type, size, start, data);
          start = -1;
        }
      }
      data.skipRest();
      long padding = (BLOCK - size % BLOCK) % BLOCK;
      skipFully(padding, name);
    }
  }

  private static byte[] extendedHeader(BoundedStream data, long size, String name)
      throws IOException {
    if (size > MAX_EXTENDED_HEADER) {
      throw new TarException(
          "the extended header '"
              + name
              + "' is "
              + size
              + " bytes, more than "
              + MAX_EXTENDED_HEADER);
    }
    return data.readAllBytes();
  }

  private static Long paxSize(String value, long headerOffset) throws TarException {
    if (value == null) {
      return null;
    }
    try {
      long size = Long.parseLong(value);
      if (size < 0) {
        throw new NumberFormatException();
      }
      return size;
    } catch (NumberFormatException e) {
      throw new TarException(
          "damaged PAX header at byte " + headerOffset + " (size '" + value + "')");
    }
  }

  private int readBlock(byte[] block) throws IOException {
    int total = 0;
    while (total < block.length) {
      int n = in.read(block, total, block.length - total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    offset += total;
    return total;
  }

  private void skipFully(long count, String name) throws IOException {
    byte[] buffer = new byte[8192];
    long left = count;
    while (left > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (n < 0) {
        throw new TarException("truncated: the archive ends inside entry '" + name + "'");
      }
      left -= n;
      offset += n;
    }
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** The header checksum: the sum of its bytes with the checksum field read as spaces. */
  static boolean checksumMatches(byte[] header) {
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      byte b = i >= 148 && i < 156 ? (byte) ' ' : header[i];
      unsigned += b & 0xff;
      signed += b;
    }
    String field = new String(header, 148, 8, StandardCharsets.US_ASCII).replace('\0', ' ').strip();
    try {
      long stored = Long.parseLong(field, 8);
      return stored == unsigned || stored == signed;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private long parseSize(byte[] header, long headerOffset) throws TarException {
    if ((header[124] & 0x80) != 0) { // GNU base-256 for sizes of 8 GiB and more
      long size = 0;
      for (int i = 125; i < 136; i++) {
        size = (size << 8) | (header[i] & 0xff);
      }
      return size;
    }
    String field =
        new String(header, 124, 12, StandardCharsets.US_ASCII).replace('\0', ' ').strip();
    try {
      return field.isEmpty() ? 0 : Long.parseLong(field, 8);
    } catch (NumberFormatException e) {
      throw new TarException(
          "damaged header at byte " + headerOffset + " (size field '" + field + "')");
    }
  }

  private static String name(byte[] header) {
    String name = cString(header, 0, 100);
    boolean ustar = new String(header, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
    String prefix = ustar ? cString(header, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String cString(byte[] bytes) {
    return cString(bytes, 0, bytes.length);
  }

  private static String cString(byte[] bytes, int from, int length) {
    int end = from;
    while (end < from + length && bytes[end] != 0) {
      end++;
    }
    return new String(bytes, from, end - from, StandardCharsets.UTF_8);
  }

  /** The records of a PAX extended header ("LEN key=VALUE\n" each); later ones win. */
  private static Map<String, String> paxRecords(byte[] records) {
    String text = new String(records, StandardCharsets.UTF_8);
    Map<String, String> values = new HashMap<>();
    for (String record : text.split("\n")) {
      int space = record.indexOf(' ');
      int equals = record.indexOf('=', space + 1);
      if (space > 0 && equals > space) {
        values.put(record.substring(space + 1, equals), record.substring(equals + 1));
      }
    }
    return values;
  }

  /** A damaged or truncated archive. */
  static final class TarException extends IOException {
    TarException(String message) {
      super(message);
    }
  }

  /**
   * The content of one entry: at most {@code size} bytes, and all of them or a truncation error.
   */
  private final class BoundedStream extends InputStream {
    private final String name;
    private long left;

    BoundedStream(long size, String name) {
      this.left = size;
      this.name = name;
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
        throw new TarException("truncated: the archive ends inside entry '" + name + "'");
      }
      left -= n;
      offset += n;
      return n;
    }

    void skipRest() throws IOException {
      skipFully(left, name);
      left = 0;
    }
  }
}
