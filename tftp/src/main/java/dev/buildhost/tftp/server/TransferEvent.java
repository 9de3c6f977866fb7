package dev.buildhost.tftp.server;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Something that happened to one transfer, for subscribers such as the machine manager.
 *
 * @param kind what happened
 * @param peer the client's address
 * @param fileName the name as requested, taken relative to the root: without the one leading '/' a
 *     client may send (already checked to lie inside the root for COMPLETED)
 * @param upload true for a write request (WRQ), false for a read request (RRQ)
 * @param bytes bytes transferred so far (the file size for COMPLETED)
 * @param duration time since the request arrived
 * @param reason why it failed (FAILED only), otherwise null
 */
public record TransferEvent(
    Kind kind,
    InetSocketAddress peer,
    String fileName,
    boolean upload,
    long bytes,
    Duration duration,
    String reason) {
  public enum Kind {
    REQUESTED,
    COMPLETED,
    FAILED
  }
}
