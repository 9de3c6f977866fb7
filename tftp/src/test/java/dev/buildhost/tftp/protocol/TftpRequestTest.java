package dev.buildhost.tftp.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TftpRequestTest {

  private static byte[] packet(int opcode, String... strings) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(opcode);
    for (String s : strings) {
      out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    }
    return out.toByteArray();
  }

  private static TftpRequest parse(byte[] bytes) throws TftpProtocolException {
    return TftpRequest.parse(bytes, 0, bytes.length);
  }

  private static int refusal(byte[] bytes) {
    return assertThrows(TftpProtocolException.class, () -> parse(bytes)).errorCode();
  }

  @Test
  void parsesNameModeAndOptionsWithLowerCasedNames() throws Exception {
    TftpRequest r =
        parse(packet(1, "dir/file.bin\0", "OcTeT\0", "BLKSIZE\0", "1468\0", "tsize\0", "0\0"));
    assertEquals(Opcodes.RRQ, r.opcode());
    assertEquals("dir/file.bin", r.fileName());
    assertEquals(TransferMode.OCTET, r.mode());
    assertEquals("1468", r.options().get("blksize"));
    assertEquals("0", r.options().get("tsize"));
    assertEquals(0, r.duplicateOptions());
  }

  @Test
  void netasciiInAnyCaseAndWriteRequests() throws Exception {
    TftpRequest r = parse(packet(2, "f\0", "NETASCII\0"));
    assertTrue(r.isWrite());
    assertEquals(TransferMode.NETASCII, r.mode());
  }

  @Test
  void firstOfDuplicatedOptionsCounts() throws Exception {
    TftpRequest r =
        parse(packet(1, "f\0", "octet\0", "blksize\0", "1024\0", "BlkSize\0", "2048\0"));
    assertEquals("1024", r.options().get("blksize"));
    assertEquals(1, r.duplicateOptions());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3})
  void packetsShorterThanFourBytesAreIllegal(int length) {
    byte[] bytes = new byte[length];
    if (length >= 2) {
      bytes[1] = 1;
    }
    assertEquals(Opcodes.ERR_ILLEGAL_OPERATION, refusal(bytes));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 3, 4, 5, 6, 7, 99, 0xffff})
  void otherOpcodesAreNotRequests(int opcode) {
    byte[] bytes = {(byte) (opcode >> 8), (byte) opcode, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
    assertEquals(Opcodes.ERR_ILLEGAL_OPERATION, refusal(bytes));
  }

  @Test
  void malformedRequestsAreIllegal() {
    assertEquals(4, refusal(packet(1, "file-without-nul")));
    assertEquals(4, refusal(packet(1, "file\0")));
    assertEquals(4, refusal(packet(1, "file\0", "octet")));
    assertEquals(4, refusal(packet(1, "file\0", "mail\0")));
    assertEquals(4, refusal(packet(1, "file\0", "binary\0")));
    assertEquals(4, refusal(packet(1, "file\0", "octet\0", "blksize")));
    assertEquals(4, refusal(packet(1, "file\0", "octet\0", "blksize\0", "512")));
    assertEquals(4, refusal(packet(1, "file\0", "octet\0", "\0", "512\0")));
    // NUL inside the name: the name ends there and "b" is not a mode
    assertEquals(4, refusal(packet(1, "a\0b\0", "octet\0")));
  }

  @Test
  void requestsLongerThan512BytesAreRefused() {
    assertEquals(4, refusal(packet(1, "a".repeat(600) + "\0", "octet\0")));
    assertEquals(4, refusal(packet(1, "a".repeat(65536) + "\0", "octet\0")));
    assertEquals(4, refusal(packet(1, "f\0", "octet\0", "x".repeat(500) + "\0", "1\0")));
  }
}
