package dev.buildhost.tftp.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed RRQ or WRQ: {@code opcode | filename 0 | mode 0 | (option 0 value 0)*} (RFC 1350, RFC
 * 2347). Option names are lower-cased; of duplicated options the first one counts.
 *
 * <p>commons-net's {@code TFTPRequestPacket} is lenient about what it accepts (missing terminators,
 * unknown modes), so requests are parsed here, strictly, and every malformation is reported as a
 * {@link TftpProtocolException} carrying the ERROR code to answer with.
 */
public record TftpRequest(
    int opcode,
    String fileName,
    TransferMode mode,
    Map<String, String> options,
    int duplicateOptions) {

  public boolean isWrite() {
    return opcode == Opcodes.WRQ;
  }

  /** Parses {@code length} bytes of {@code packet} starting at {@code offset}. */
  public static TftpRequest parse(byte[] packet, int offset, int length)
      throws TftpProtocolException {
    if (length < 4) {
      throw illegal("packet of " + length + " bytes is too short");
    }
    if (length > Opcodes.MAX_REQUEST_LENGTH) {
      throw illegal("request of " + length + " bytes is longer than " + Opcodes.MAX_REQUEST_LENGTH);
    }
    int opcode = ((packet[offset] & 0xff) << 8) | (packet[offset + 1] & 0xff);
    if (opcode != Opcodes.RRQ && opcode != Opcodes.WRQ) {
      throw illegal("opcode " + opcode + " is not a request");
    }
    int end = offset + length;
    int pos = offset + 2;
    int nul = indexOfNul(packet, pos, end);
    if (nul < 0) {
      throw illegal("file name is not NUL-terminated");
    }
    String fileName = new String(packet, pos, nul - pos, StandardCharsets.ISO_8859_1);
    pos = nul + 1;
    nul = indexOfNul(packet, pos, end);
    if (nul < 0) {
      throw illegal(
          pos == end ? "transfer mode is missing" : "transfer mode is not NUL-terminated");
    }
    TransferMode mode =
        TransferMode.parse(new String(packet, pos, nul - pos, StandardCharsets.ISO_8859_1));
    pos = nul + 1;
    Map<String, String> options = new LinkedHashMap<>();
    int duplicates = 0;
    while (pos < end) {
      int nameEnd = indexOfNul(packet, pos, end);
      if (nameEnd < 0) {
        throw illegal("option name is not NUL-terminated");
      }
      int valueEnd = indexOfNul(packet, nameEnd + 1, end);
      if (valueEnd < 0) {
        throw illegal("option value is missing or not NUL-terminated");
      }
      String name =
          new String(packet, pos, nameEnd - pos, StandardCharsets.ISO_8859_1)
              .toLowerCase(Locale.ROOT);
      String value =
          new String(packet, nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.ISO_8859_1);
      if (name.isEmpty()) {
        throw illegal("empty option name");
      }
      if (options.putIfAbsent(name, value) != null) {
        duplicates++;
      }
      pos = valueEnd + 1;
    }
    return new TftpRequest(
        opcode, fileName, mode, Collections.unmodifiableMap(options), duplicates);
  }

  private static int indexOfNul(byte[] data, int from, int end) {
    for (int i = from; i < end; i++) {
      if (data[i] == 0) {
        return i;
      }
    }
    return -1;
  }

  private static TftpProtocolException illegal(String message) {
    return new TftpProtocolException(Opcodes.ERR_ILLEGAL_OPERATION, message);
  }
}
