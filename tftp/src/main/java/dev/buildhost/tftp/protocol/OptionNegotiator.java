package dev.buildhost.tftp.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RFC 2347 option negotiation: blksize (RFC 2348), timeout and tsize (RFC 2349), windowsize (RFC
 * 7440). Unknown options are ignored. Values out of their RFC range or not numbers are refused
 * (ERROR 8); valid blksize and windowsize values above the server's caps are lowered to the cap, as
 * RFC 2348 and RFC 7440 allow. RFC 2349 lets a server only accept a timeout as asked or ignore it,
 * so a timeout above the server's cap is left out of the OACK and the server's own timeout applies:
 * a client cannot make a transfer it stalls hold its slot for minutes. A WRQ whose tsize exceeds
 * what the upload may take is refused up front (ERROR 3).
 */
public final class OptionNegotiator {
  public static final String BLKSIZE = "blksize";
  public static final String TIMEOUT = "timeout";
  public static final String TSIZE = "tsize";
  public static final String WINDOWSIZE = "windowsize";

  /** RFC 2349: a timeout option is 1-255 seconds. */
  public static final int MAX_TIMEOUT_SECONDS = 255;

  private final int maxBlockSize;
  private final int maxWindowSize;
  private final long defaultTimeoutMillis;
  private final int maxTimeoutSeconds;

  /**
   * @param maxTimeoutSeconds the largest timeout option accepted, 1-255; larger ones are ignored
   */
  public OptionNegotiator(
      int maxBlockSize, int maxWindowSize, long defaultTimeoutMillis, int maxTimeoutSeconds) {
    if (maxBlockSize < Opcodes.MIN_BLOCK_SIZE || maxBlockSize > Opcodes.MAX_BLOCK_SIZE) {
      throw new IllegalArgumentException(
          "maximum block size must be within 8-65464: " + maxBlockSize);
    }
    if (maxWindowSize < 1 || maxWindowSize > Opcodes.MAX_WINDOW_SIZE) {
      throw new IllegalArgumentException(
          "maximum window size must be within 1-65535: " + maxWindowSize);
    }
    if (maxTimeoutSeconds < 1 || maxTimeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new IllegalArgumentException(
          "maximum timeout must be within 1-255 seconds: " + maxTimeoutSeconds);
    }
    this.maxTimeoutSeconds = maxTimeoutSeconds;
    this.maxBlockSize = maxBlockSize;
    this.maxWindowSize = maxWindowSize;
    this.defaultTimeoutMillis = defaultTimeoutMillis;
  }

  /**
   * @param request the parsed request
   * @param fileSize for an RRQ the size to report as tsize; -1 (unknown) or 0 leave tsize out
   * @param uploadLimit for a WRQ the most bytes the upload may write (file size cap, quota left)
   * @param limitReason what {@code uploadLimit} comes from, for the error message
   */
  public NegotiatedOptions negotiate(
      TftpRequest request, long fileSize, long uploadLimit, String limitReason)
      throws TftpProtocolException {
    int blockSize = Opcodes.DEFAULT_BLOCK_SIZE;
    int windowSize = 1;
    long timeoutMillis = defaultTimeoutMillis;
    long transferSize = -1;
    Map<String, String> ack = new LinkedHashMap<>();
    for (Map.Entry<String, String> option : request.options().entrySet()) {
      String value = option.getValue();
      switch (option.getKey()) {
        case BLKSIZE:
          {
            long requested = number(BLKSIZE, value, Opcodes.MIN_BLOCK_SIZE, Opcodes.MAX_BLOCK_SIZE);
            blockSize = (int) Math.min(requested, maxBlockSize);
            ack.put(BLKSIZE, Integer.toString(blockSize));
            break;
          }
        case WINDOWSIZE:
          {
            long requested = number(WINDOWSIZE, value, 1, Opcodes.MAX_WINDOW_SIZE);
            windowSize = (int) Math.min(requested, maxWindowSize);
            ack.put(WINDOWSIZE, Integer.toString(windowSize));
            break;
          }
        case TIMEOUT:
          {
            long seconds = number(TIMEOUT, value, 1, MAX_TIMEOUT_SECONDS);
            if (seconds
                <= maxTimeoutSeconds) { // else ignored: RFC 2349 allows no other value in the OACK
              timeoutMillis = seconds * 1000;
              ack.put(TIMEOUT, Long.toString(seconds));
            }
            break;
          }
        case TSIZE:
          {
            long size = number(TSIZE, value, 0, Long.MAX_VALUE);
            if (request.isWrite()) {
              if (size > uploadLimit) {
                throw new TftpProtocolException(
                    Opcodes.ERR_DISK_FULL,
                    "file of "
                        + size
                        + " bytes exceeds the "
                        + limitReason
                        + " ("
                        + uploadLimit
                        + " bytes left)");
              }
              transferSize = size;
              ack.put(TSIZE, Long.toString(size));
            } else if (fileSize
                > 0) { // curl rejects an OACK with tsize 0, so an empty file gets none
              transferSize = fileSize;
              ack.put(TSIZE, Long.toString(fileSize));
            }
            break;
          }
        default:
          break; // RFC 2347: unknown options are ignored
      }
    }
    return new NegotiatedOptions(
        blockSize, windowSize, timeoutMillis, transferSize, Collections.unmodifiableMap(ack));
  }

  private static long number(String name, String value, long min, long max)
      throws TftpProtocolException {
    if (value.isEmpty() || value.length() > 19) {
      throw refused(name, value, min, max);
    }
    long n = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        throw refused(name, value, min, max);
      }
      n = n * 10 + (c - '0');
      if (n < 0) {
        throw refused(name, value, min, max);
      }
    }
    if (n < min || n > max) {
      throw refused(name, value, min, max);
    }
    return n;
  }

  private static TftpProtocolException refused(String name, String value, long min, long max) {
    String range = max == Long.MAX_VALUE ? "a number >= " + min : min + "-" + max;
    return new TftpProtocolException(
        Opcodes.ERR_OPTION_REFUSED,
        "option " + name + " " + Printable.quote(value) + " is invalid (expected " + range + ")");
  }
}
