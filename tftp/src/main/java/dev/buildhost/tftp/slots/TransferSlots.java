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
 * acknowledgement (a request costs an attacker one datagram, from any address, spoofed or not;
 * an acknowledgement needs the server's answer). Three rules keep such requests from starving
 * real clients:
 * <ol>
 *   <li>one client address holds at most {@code perClient} slots; at that cap its oldest
 *       unacknowledged transfer gives way to its new request, else the request is refused;</li>
 *   <li>when every slot is taken, the oldest unacknowledged transfer of the address holding the
 *       most unacknowledged transfers (counting the new request for its sender; in a tie another
 *       address than the sender's) gives way, so a flood from several addresses evicts its own
 *       requests, not the one a real client has not acknowledged yet;</li>
 *   <li>only when every slot holds an acknowledged transfer is a request refused outright.</li>
 * </ol>
 * The caller stops an evicted transfer; its slot is already the new request's.
 *
 * @param <T> the caller's handle of a transfer (compared by {@code equals})
 */
public final class TransferSlots<T> {
  private final int capacity;
  private final int perClient;
  private final Map<T, Holder> holders = new HashMap<>();
  private final Map<InetAddress, Client<T>> clients = new HashMap<>();

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
  public sealed interface Admission<T> {
  }

  /** The request holds a slot now; {@code evicted}, if not null, gave its slot up and must be stopped. */
  public record Admitted<T>(T evicted) implements Admission<T> {
  }

  /** No slot: {@code reason} says which cap, for the ERROR packet. */
  public record Refused<T>(String reason) implements Admission<T> {
  }

  /** Gives {@code transfer}, a new request from {@code client}, a slot if the rules allow. */
  public synchronized Admission<T> admit(InetAddress client, T transfer) {
    Objects.requireNonNull(client, "client");
    if (holders.containsKey(Objects.requireNonNull(transfer, "transfer"))) {
      throw new IllegalArgumentException("already holds a slot: " + transfer);
    }
    Client<T> own = clients.get(client);
    T evicted = null;
    if (own != null && own.held >= perClient) {
      if (own.unacknowledged.isEmpty()) {
        return new Refused<>("too many concurrent transfers from " + client.getHostAddress() + " (" + perClient
            + "), try again later");
      }
      evicted = own.unacknowledged.iterator().next();
    } else if (holders.size() >= capacity) {
      Client<T> victim = heaviestUnacknowledged(client);
      if (victim == null) {
        return new Refused<>("too many concurrent transfers (" + capacity + "), try again later");
      }
      evicted = victim.unacknowledged.iterator().next();
    }
    if (evicted != null) {
      release(evicted);
    }
    holders.put(transfer, new Holder(client));
    Client<T> slots = clients.computeIfAbsent(client, a -> new Client<>());
    slots.held++;
    slots.unacknowledged.add(transfer);
    return new Admitted<>(evicted);
  }

  /** The client with unacknowledged transfers that has the most of them; {@code requester} counts its new one. */
  private Client<T> heaviestUnacknowledged(InetAddress requester) {
    Client<T> heaviest = null;
    int most = 0;
    for (Map.Entry<InetAddress, Client<T>> entry : clients.entrySet()) {
      Client<T> c = entry.getValue();
      if (c.unacknowledged.isEmpty()) {
        continue;
      }
      boolean isRequester = entry.getKey().equals(requester);
      int weight = c.unacknowledged.size() + (isRequester ? 1 : 0);
      // in a tie another address gives way: the requester evicts its own only when it is the heaviest
      if (weight > most || (weight == most && !isRequester)) {
        heaviest = c;
        most = weight;
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

  /** Frees the slot of {@code transfer}; nothing happens if it holds none (evicted, or released already). */
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
    boolean acknowledged;

    Holder(InetAddress client) {
      this.client = client;
    }
  }

  private static final class Client<T> {
    int held;
    /** Oldest first. */
    final LinkedHashSet<T> unacknowledged = new LinkedHashSet<>();
  }
}
