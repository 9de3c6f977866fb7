package dev.buildhost.manager.tftp;

import java.util.BitSet;

/**
 * The range of ports for per-instance TFTP servers and which of them instances hold. Ports are
 * handed out round-robin, so a port just released is the last to be reused: a late packet from an
 * ended guest is unlikely to reach the next instance's server.
 */
public final class TftpPortPool {
  private final int first;
  private final int last;
  private final BitSet held;
  private int cursor;

  public TftpPortPool(int first, int last) {
    if (first < 1 || last > 65535 || first > last) {
      throw new IllegalArgumentException(
          "bad TFTP port range " + first + "-" + last + ": give 1 <= first <= last <= 65535");
    }
    this.first = first;
    this.last = last;
    this.held = new BitSet(size());
  }

  public int size() {
    return last - first + 1;
  }

  public String range() {
    return first + "-" + last;
  }

  /** Holds the next free port of the range, or returns -1 when every port is held. */
  public synchronized int hold() {
    for (int i = 0; i < size(); i++) {
      int index = (cursor + i) % size();
      if (!held.get(index)) {
        held.set(index);
        cursor = (index + 1) % size();
        return first + index;
      }
    }
    return -1;
  }

  /** Holds a given port (an adopted instance keeps its port); false if outside or already held. */
  public synchronized boolean hold(int port) {
    if (port < first || port > last || held.get(port - first)) {
      return false;
    }
    held.set(port - first);
    return true;
  }

  public synchronized void release(int port) {
    if (port >= first && port <= last) {
      held.clear(port - first);
    }
  }

  public synchronized boolean isHeld(int port) {
    return port >= first && port <= last && held.get(port - first);
  }

  public synchronized int heldCount() {
    return held.cardinality();
  }
}
