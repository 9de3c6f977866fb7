package dev.buildhost.tftp.protocol;

import java.nio.ByteBuffer;

/**
 * netascii (RFC 1350, RFC 764): on the wire a line ends with CR LF and a bare CR is CR NUL. The
 * encoder and decoder keep state across calls, so blocks may split a pair anywhere.
 */
public final class Netascii {
  private Netascii() {}

  /** Local bytes to netascii. */
  public static final class Encoder {
    private int pending = -1;

    /**
     * Converts from {@code in} into {@code out} until {@code out} is full or {@code in} is empty.
     */
    public void encode(ByteBuffer in, ByteBuffer out) {
      while (out.hasRemaining()) {
        if (pending >= 0) {
          out.put((byte) pending);
          pending = -1;
          continue;
        }
        if (!in.hasRemaining()) {
          return;
        }
        byte b = in.get();
        if (b == '\n') {
          out.put((byte) '\r');
          pending = '\n';
        } else if (b == '\r') {
          out.put((byte) '\r');
          pending = 0;
        } else {
          out.put(b);
        }
      }
    }

    /** True while a converted byte still waits for room in the output. */
    public boolean hasPending() {
      return pending >= 0;
    }
  }

  /** netascii to local bytes. {@code out} needs room for {@code in.remaining() + 1} bytes. */
  public static final class Decoder {
    private boolean pendingCr;

    public void decode(ByteBuffer in, ByteBuffer out) {
      while (in.hasRemaining()) {
        byte b = in.get();
        if (pendingCr) {
          pendingCr = false;
          if (b == '\n') {
            out.put((byte) '\n');
            continue;
          }
          out.put((byte) '\r');
          if (b == 0) {
            continue;
          }
        }
        if (b == '\r') {
          pendingCr = true;
        } else {
          out.put(b);
        }
      }
    }

    /** Flushes a CR that ended the input. */
    public void finish(ByteBuffer out) {
      if (pendingCr) {
        out.put((byte) '\r');
        pendingCr = false;
      }
    }
  }
}
