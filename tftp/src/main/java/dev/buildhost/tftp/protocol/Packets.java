package dev.buildhost.tftp.protocol;

import java.net.DatagramPacket;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.apache.commons.net.tftp.TFTPErrorPacket;
import org.apache.commons.net.tftp.TFTPPacket;
import org.apache.commons.net.tftp.TFTPPacketException;

/**
 * Encoding and decoding of the packets the server exchanges. ERROR packets go through commons-net;
 * OACK (which commons-net cannot encode) is built here; DATA and ACK on the hot path are written
 * into reused buffers without allocation.
 */
public final class Packets {
  private static final int MAX_ERROR_MESSAGE = 200;

  private Packets() {}

  /** An ERROR packet; the message is shortened and made printable. */
  public static byte[] error(int code, String message) {
    String text =
        message.length() > MAX_ERROR_MESSAGE ? message.substring(0, MAX_ERROR_MESSAGE) : message;
    StringBuilder clean = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      clean.append(c < 0x20 || c > 0x7e ? '?' : c);
    }
    DatagramPacket datagram =
        new TFTPErrorPacket(InetAddress.getLoopbackAddress(), 0, code, clean.toString())
            .newDatagram();
    return Arrays.copyOfRange(
        datagram.getData(), datagram.getOffset(), datagram.getOffset() + datagram.getLength());
  }

  /** An OACK packet (RFC 2347): {@code 6 | (name 0 value 0)*}. */
  public static byte[] oack(Map<String, String> options) {
    int length = 2;
    for (Map.Entry<String, String> e : options.entrySet()) {
      length += e.getKey().length() + e.getValue().length() + 2;
    }
    ByteBuffer out = ByteBuffer.allocate(length);
    out.putShort((short) Opcodes.OACK);
    for (Map.Entry<String, String> e : options.entrySet()) {
      out.put(e.getKey().getBytes(StandardCharsets.US_ASCII)).put((byte) 0);
      out.put(e.getValue().getBytes(StandardCharsets.US_ASCII)).put((byte) 0);
    }
    return out.array();
  }

  /** Writes {@code ACK block} into {@code buffer} (cleared, then flipped for sending). */
  public static ByteBuffer ack(ByteBuffer buffer, int block) {
    buffer.clear();
    buffer.putShort((short) Opcodes.ACK).putShort((short) block).flip();
    return buffer;
  }

  /**
   * The opcode of a received packet in {@code buffer[0, limit)}, or -1 when shorter than 2 bytes.
   */
  public static int opcode(ByteBuffer received) {
    return received.limit() < 2 ? -1 : received.getShort(0) & 0xffff;
  }

  /** The block number of a DATA or ACK packet of at least 4 bytes. */
  public static int block(ByteBuffer received) {
    return received.getShort(2) & 0xffff;
  }

  /** Describes a received ERROR packet ("error 3: disk full"), using commons-net to decode it. */
  public static String describeError(ByteBuffer received) {
    byte[] bytes = new byte[received.limit()];
    received.get(0, bytes);
    try {
      TFTPPacket packet =
          TFTPPacket.newTFTPPacket(
              new DatagramPacket(bytes, bytes.length, InetAddress.getLoopbackAddress(), 0));
      if (packet instanceof TFTPErrorPacket error) {
        return "error " + error.getError() + ": " + Printable.quote(error.getMessage());
      }
    } catch (TFTPPacketException | RuntimeException e) {
      // fall through: malformed error packet
    }
    return "malformed error packet of " + bytes.length + " bytes";
  }
}
