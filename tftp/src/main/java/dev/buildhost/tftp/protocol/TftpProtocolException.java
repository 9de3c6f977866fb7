package dev.buildhost.tftp.protocol;

/**
 * A request or option the server refuses: carries the TFTP error code and the message that goes
 * into the ERROR packet sent back.
 */
public final class TftpProtocolException extends Exception {
  private final int errorCode;

  public TftpProtocolException(int errorCode, String message) {
    super(message);
    this.errorCode = errorCode;
  }

  public int errorCode() {
    return errorCode;
  }
}
