package dev.buildhost.tftp.server;

/** Ends a transfer: the reason for the log and the FAILED event, and the ERROR to send, if any. */
final class TransferFailure extends Exception {
  /** No ERROR packet is sent (the peer sent one, vanished, or the server is stopping). */
  static final int NO_ERROR_PACKET = -1;

  private final int errorCode;

  TransferFailure(int errorCode, String reason) {
    super(reason, null, false, false);
    this.errorCode = errorCode;
  }

  int errorCode() {
    return errorCode;
  }
}
