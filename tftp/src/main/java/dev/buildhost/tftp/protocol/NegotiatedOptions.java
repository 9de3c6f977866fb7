package dev.buildhost.tftp.protocol;

import java.util.Map;

/**
 * The outcome of RFC 2347 option negotiation for one transfer.
 *
 * @param blockSize data bytes per block
 * @param windowSize blocks per acknowledgement (RFC 7440)
 * @param timeoutMillis retransmission timeout
 * @param transferSize tsize announced by the client (WRQ) or sent back (RRQ); -1 if none
 * @param acknowledged the options to put in the OACK, in request order; empty means no OACK
 */
public record NegotiatedOptions(
    int blockSize,
    int windowSize,
    long timeoutMillis,
    long transferSize,
    Map<String, String> acknowledged) {

  public boolean hasOack() {
    return !acknowledged.isEmpty();
  }
}
