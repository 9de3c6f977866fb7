package dev.buildhost.tftp.protocol;

import java.util.Locale;

/** RFC 1350 transfer modes the server supports ("mail" is obsolete and refused). */
public enum TransferMode {
  OCTET,
  NETASCII;

  /** Parses a mode string case-insensitively; throws for "mail" and anything unknown. */
  public static TransferMode parse(String text) throws TftpProtocolException {
    switch (text.toLowerCase(Locale.ROOT)) {
      case "octet":
        return OCTET;
      case "netascii":
        return NETASCII;
      case "mail":
        throw new TftpProtocolException(
            Opcodes.ERR_ILLEGAL_OPERATION, "mode mail is not supported");
      default:
        throw new TftpProtocolException(
            Opcodes.ERR_ILLEGAL_OPERATION, "unknown transfer mode " + Printable.quote(text));
    }
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
