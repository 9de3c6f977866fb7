package dev.buildhost.tftp.protocol;

import org.apache.commons.net.tftp.TFTPErrorPacket;
import org.apache.commons.net.tftp.TFTPPacket;

/** TFTP opcodes and error codes (RFC 1350, RFC 2347), named after commons-net's constants. */
public final class Opcodes {
  public static final int RRQ = TFTPPacket.READ_REQUEST;
  public static final int WRQ = TFTPPacket.WRITE_REQUEST;
  public static final int DATA = TFTPPacket.DATA;
  public static final int ACK = TFTPPacket.ACKNOWLEDGEMENT;
  public static final int ERROR = TFTPPacket.ERROR;
  public static final int OACK = TFTPPacket.OACK;

  public static final int ERR_UNDEFINED = TFTPErrorPacket.UNDEFINED;
  public static final int ERR_FILE_NOT_FOUND = TFTPErrorPacket.FILE_NOT_FOUND;
  public static final int ERR_ACCESS_VIOLATION = TFTPErrorPacket.ACCESS_VIOLATION;
  public static final int ERR_DISK_FULL = TFTPErrorPacket.OUT_OF_SPACE;
  public static final int ERR_ILLEGAL_OPERATION = TFTPErrorPacket.ILLEGAL_OPERATION;
  public static final int ERR_UNKNOWN_TID = TFTPErrorPacket.UNKNOWN_TID;
  public static final int ERR_FILE_EXISTS = TFTPErrorPacket.FILE_EXISTS;
  public static final int ERR_OPTION_REFUSED = TFTPErrorPacket.INVALID_OPTIONS_VALUE;

  /** RFC 1350: a request (and, per RFC 2347, a request with options) fits in 512 bytes. */
  public static final int MAX_REQUEST_LENGTH = 512;

  public static final int DEFAULT_BLOCK_SIZE = 512;
  public static final int MIN_BLOCK_SIZE = 8;
  public static final int MAX_BLOCK_SIZE = 65464;
  public static final int MAX_WINDOW_SIZE = 65535;

  private Opcodes() {}
}
