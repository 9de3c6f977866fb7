package dev.buildhost.tftp.slots;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;

/**
 * Who may hold one of a server's transfer slots: the admission policy, without any I/O.
 *
 * <p>A transfer is <em>unacknowledged</em> from its admission until the client's first
 * acknowledgement (a request costs an attacker one datagram, from any address, spoofed or not; an
 * acknowledgement needs the server's answer). Three rules keep such requests from starving real
 * clients, and keep refusing them cheap (no socket, no thread):
 *
 * <ol>
 *   <li>one client address holds at most {@code perClient} slots; beyond that its requests are
 *       refused;
 *   <li>when every slot is taken, a request takes the slot of the oldest unacknowledged transfer of
 *       the address holding the most unacknowledged transfers (the longest-waiting one among
 *       equals), if the requester's address holds none, or if that address holds at least two more
 *       than the requester's (so that addresses of a flood do not take slots from each other in
 *       turn, each at the cost of starting and stopping a transfer). A client that waits for its
 *       one answer thus gets in, and keeps its slot while a flood from a few addresses goes on; a
 *       request that could only evict its own address's is refused;
 *   <li>otherwise, and whenever every slot holds an acknowledged transfer, it is refused.
 * </ol>
 *
 * The caller stops an evicted transfer; its slot is already the new request's.
 *
 * @param <T> the caller's handle of a transfer (compared by {@code equals})
 */
public final class TransferSlots<T> {
  private final int capacity;
  private final int perClient;
  private final Map<T, Holder> holders = new HashMap<>();
  private final Map<InetAddress, Client<T>> clients = new HashMap<>();
  private long admissions;

  public TransferSlots(int capacity, int perClient) {
    if (capacity < 1) {
      throw new IllegalArgumentException("the number of slots must be at least 1: " + capacity);
    }
    if (perClient < 1 || perClient > capacity) {
      throw new IllegalArgumentException(
          "the slots per client address must be within 1-" + capacity + ": " + perClient);
    }
    this.capacity = capacity;
    this.perClient = perClient;
  }

  /** The outcome of {@link #admit}. */
  public sealed interface Admission<T> {}

  /**
   * The request holds a slot now; {@code evicted}, if not null, gave its slot up and must be
   * stopped.
   */
  public record Admitted<T>(T evicted) implements Admission<T> {}

  /** No slot: {@code reason} says which cap, for the ERROR packet. */
  public record Refused<T>(String reason) implements Admission<T> {}

  /** Gives {@code transfer}, a new request from {@code client}, a slot if the rules allow. */
  public synchronized Admission<T> admit(InetAddress client, T transfer) {
    Objects.requireNonNull(client, "client");
    if (holders.containsKey(Objects.requireNonNull(transfer, "transfer"))) {
      throw new IllegalArgumentException("already holds a slot: " + transfer);
    }
    Client<T> own = clients.get(client);
    if (own != null && own.held >= perClient) {
      return new Refused<>(
          "too many concurrent transfers from "
              + client.getHostAddress()
              + " ("
              + perClient
              + "), try again later");
    }
    T evicted = null;
    if (holders.size() >= capacity) {
      // an address waiting for no answer may take from any that waits; one that waits already only
      // from an address waiting for two more, so that a flood's addresses do not trade slots
      int waiting = own == null ? 0 : own.unacknowledged.size();
      Client<T> victim = heaviestUnacknowledged(waiting == 0 ? 0 : waiting + 1);
      if (victim == null) {
        return new Refused<>("too many concurrent transfers (" + capacity + "), try again later");
      }
      evicted = victim.unacknowledged.iterator().next();
      release(evicted);
    }
    holders.put(transfer, new Holder(client, ++admissions));
    Client<T> slots = clients.computeIfAbsent(client, a -> new Client<>());
    slots.held++;
    slots.unacknowledged.add(transfer);
    return new Admitted<>(evicted);
  }

  /**
   * The client holding the most unacknowledged transfers, more than {@code than}; of several, the
   * one whose oldest unacknowledged transfer is the oldest. Null if none holds more.
   */
  private Client<T> heaviestUnacknowledged(int than) {
    Client<T> heaviest = null;
    int most = 0;
    long oldest = Long.MAX_VALUE;
    for (Client<T> c : clients.values()) {
      int count = c.unacknowledged.size();
      if (count <= than) {
        continue;
      }
      long age = holders.get(c.unacknowledged.iterator().next()).admission;
      if (count > most || (count == most && age < oldest)) {
        heaviest = c;
        most = count;
        oldest = age;
      }
    }
    return heaviest;
  }

  /**
   * The client acknowledged {@code transfer} for the first time: from now on it is never evicted.
   * Returns false if it no longer holds a slot (it was evicted meanwhile and must stop).
   */
  public synchronized boolean acknowledged(T transfer) {
    Holder holder = holders.get(transfer);
    if (holder == null) {
      return false;
    }
    if (!holder.acknowledged) {
      holder.acknowledged = true;
      clients.get(holder.client).unacknowledged.remove(transfer);
    }
    return true;
  }

  /**
   * Frees the slot of {@code transfer}; nothing happens if it holds none (evicted, or released
   * already).
   */
  public synchronized void release(T transfer) {
    Holder holder = holders.remove(transfer);
    if (holder == null) {
      return;
    }
    Client<T> client = clients.get(holder.client);
    client.unacknowledged.remove(transfer);
    if (--client.held == 0) {
      clients.remove(holder.client);
    }
  }

  /** Slots held now. */
  public synchronized int held() {
    return holders.size();
  }

  /** Slots held now by transfers the client has not acknowledged yet. */
  public synchronized int unacknowledged() {
    int count = 0;
    for (Client<T> c : clients.values()) {
      count += c.unacknowledged.size();
    }
    return count;
  }

  /** Slots held now by one client address. */
  public synchronized int heldBy(InetAddress client) {
    Client<T> c = clients.get(client);
    return c == null ? 0 : c.held;
  }

  private static final class Holder {
    final InetAddress client;

    /** Admission order: lower is older. */
    final long admission;

    boolean acknowledged;

    Holder(InetAddress client, long admission) {
      this.client = client;
      this.admission = admission;
    }
  }

  private static final class Client<T> {
    int held;

    /** Oldest first. */
    final LinkedHashSet<T> unacknowledged = new LinkedHashSet<>();
  }
}
