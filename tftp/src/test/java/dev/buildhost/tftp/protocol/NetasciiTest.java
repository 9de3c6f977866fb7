package dev.buildhost.tftp.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NetasciiTest {
  private static final byte[] LOCAL = "a\nb\rc\r\n\n\r".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] WIRE =
      "a\r\nb\r\0c\r\0\r\n\r\n\r\0".getBytes(StandardCharsets.US_ASCII);

  @Test
  void encodesThroughOutputsOfAnySize() {
    for (int chunk = 1; chunk <= WIRE.length; chunk++) {
      Netascii.Encoder encoder = new Netascii.Encoder();
      ByteBuffer in = ByteBuffer.wrap(LOCAL);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer block = ByteBuffer.allocate(chunk);
      while (in.hasRemaining() || encoder.hasPending()) {
        block.clear();
        encoder.encode(in, block);
        out.write(block.array(), 0, block.position());
      }
      assertArrayEquals(WIRE, out.toByteArray(), "chunk " + chunk);
    }
  }

  @Test
  void decodesAcrossBlockBoundaries() {
    for (int chunk = 1; chunk <= WIRE.length; chunk++) {
      Netascii.Decoder decoder = new Netascii.Decoder();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int i = 0; i < WIRE.length; i += chunk) {
        ByteBuffer in = ByteBuffer.wrap(WIRE, i, Math.min(chunk, WIRE.length - i));
        ByteBuffer dst = ByteBuffer.allocate(chunk + 1);
        decoder.decode(in, dst);
        if (i + chunk >= WIRE.length) {
          decoder.finish(dst);
        }
        out.write(dst.array(), 0, dst.position());
      }
      assertArrayEquals(LOCAL, out.toByteArray(), "chunk " + chunk);
    }
  }

  @Test
  void aTrailingBareCrSurvives() {
    Netascii.Decoder decoder = new Netascii.Decoder();
    ByteBuffer dst = ByteBuffer.allocate(8);
    decoder.decode(ByteBuffer.wrap(new byte[] {'x', '\r'}), dst);
    decoder.finish(dst);
    assertArrayEquals(new byte[] {'x', '\r'}, java.util.Arrays.copyOf(dst.array(), dst.position()));
  }
}
