package dev.buildhost.fleet.reboot;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.buildhost.fleet.Fleet;
import dev.buildhost.fleet.FleetException;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * At most {@code slots} hosts of a fleet reboot at once: a counting semaphore in etcd.
 *
 * <p>The holders are one key, {@code <prefix>reboots/slots} (JSON {@code {"holders": [...]}}),
 * changed only by transactions that compare its mod revision with the one read, so two hosts cannot
 * both take the last slot. A slot is bound to no lease: it must outlive its holder's reboot. The
 * holder gives it back once it is up again; a holder that does not within {@code slotTimeout} of
 * running its reboot command (or of the end of its drain timeout, when it never got that far) is
 * freed by the next host that asks for a slot (the times are the hosts' clocks: keep them in NTP's
 * reach).
 *
 * <p>A host waiting for a slot is recorded under {@code <prefix>reboots/waiting/<host>}, bound to
 * this semaphore's lease so that a waiter that died vanishes within the lease TTL. Waiters get free
 * slots in the order etcd created their records (their create revisions), so no host starves.
 */
public final class RebootSemaphore implements AutoCloseable {
  private static final int MAX_TRIES = 20;
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private record Holders(List<SlotHolder> holders) {
    Holders {
      holders = holders == null ? List.of() : List.copyOf(holders);
    }
  }

  /** The holders' key as read: its holders and its mod revision (0: no such key). */
  private record Held(List<SlotHolder> holders, long modRevision) {}

  /** A waiter's record with its create revision, which orders the waiters. */
  private record Waiting(SlotWaiter waiter, long createRevision) {}

  private record Snapshot(Held held, List<Waiting> waiting) {
    Optional<SlotHolder> holder(String host) {
      return held.holders().stream().filter(h -> h.host().equals(host)).findFirst();
    }

    Optional<Waiting> waiter(String host) {
      return waiting.stream().filter(w -> w.waiter().host().equals(host)).findFirst();
    }
  }

  private final Fleet fleet;
  private final Client client;
  private final String prefix;
  private final ByteSequence slotsKey;
  private final int slots;
  private final Duration slotTimeout;
  private final Duration leaseTtl;
  private final Clock clock;
  private final Object leaseLock = new Object();
  private long lease;
  private CloseableClient keepAlive;

  /**
   * @param fleet the fleet (not closed by this): its reboot slots, slot timeout and lease TTL
   * @param clock the time slots are taken and expire by
   */
  public RebootSemaphore(Fleet fleet, Clock clock) {
    this.fleet = fleet;
    this.client = fleet.client();
    this.prefix = fleet.settings().keyPrefix() + "reboots/";
    this.slotsKey = Fleet.bytes(prefix + "slots");
    this.slots = fleet.settings().rebootSlots();
    this.slotTimeout = fleet.settings().slotTimeout();
    this.leaseTtl = fleet.settings().leaseTtl();
    this.clock = clock;
  }

  /** The etcd key of the slots' holders. */
  public String slotsKey() {
    return prefix + "slots";
  }

  /** The etcd key that records {@code host} as waiting. */
  public String waiterKey(String host) {
    return prefix + "waiting/" + host;
  }

  /** The holders and the waiters, as etcd has them now. */
  public RebootSlots read() {
    Snapshot s = snapshot();
    return new RebootSlots(
        slots, s.held().holders(), s.waiting().stream().map(Waiting::waiter).toList());
  }

  /** How long a slot stays with a host that neither comes back nor gives it up. */
  public Duration slotTimeout() {
    return slotTimeout;
  }

  /**
   * Asks for a slot for {@code host}: granted when it holds one already, or when a slot is free and
   * no host waits before it; otherwise {@code host} is recorded as waiting (and keeps its place at
   * the next request). Holders whose slot timed out are freed on the way.
   *
   * @param drainTimeout how long the host may drain before it reboots: its slot is not freed before
   *     that and the slot timeout passed
   * @throws FleetException when etcd does not answer, refuses, or holds something else than slots
   */
  public SlotRequest request(String host, String bootId, String reason, Duration drainTimeout) {
    for (int i = 0; i < MAX_TRIES; i++) {
      Snapshot s = snapshot();
      Optional<SlotHolder> mine = s.holder(host);
      if (mine.isPresent()) {
        if (s.waiter(host).isPresent()) {
          await(
              client.getKVClient().delete(bytes(waiterKey(host))),
              "withdraw the waiting record of " + host);
        }
        return new SlotRequest(true, s.held().holders(), 0, List.of());
      }
      Optional<Waiting> waiting = s.waiter(host);
      if (waiting.isEmpty()) {
        putWaiter(new SlotWaiter(host, clock.instant(), reason));
        continue;
      }
      Instant now = clock.instant();
      List<SlotHolder> freed =
          s.held().holders().stream().filter(h -> !now.isBefore(h.expires(slotTimeout))).toList();
      List<SlotHolder> kept = new ArrayList<>(s.held().holders());
      kept.removeAll(freed);
      long order = waiting.get().createRevision();
      int ahead =
          (int)
              s.waiting().stream()
                  .filter(w -> w.createRevision() < order)
                  .filter(w -> kept.stream().noneMatch(h -> h.host().equals(w.waiter().host())))
                  .count();
      if (kept.size() + ahead < slots) {
        List<SlotHolder> after = new ArrayList<>(kept);
        after.add(new SlotHolder(host, bootId, now, reason, now.plus(drainTimeout), null));
        if (replaceHolders(
            s.held(), after, Op.delete(bytes(waiterKey(host)), DeleteOption.DEFAULT))) {
          return new SlotRequest(true, after, 0, freed);
        }
        continue;
      }
      if (!freed.isEmpty() && !replaceHolders(s.held(), kept)) {
        continue;
      }
      return new SlotRequest(false, kept, ahead, freed);
    }
    throw contention();
  }

  /**
   * Records that {@code host} runs its reboot command now: its slot times out {@code slotTimeout}
   * after this.
   *
   * @return false when {@code host} holds no slot (it timed out and another host freed it)
   */
  public boolean rebooting(String host) {
    for (int i = 0; i < MAX_TRIES; i++) {
      Held held = snapshot().held();
      List<SlotHolder> after = new ArrayList<>();
      boolean found = false;
      for (SlotHolder h : held.holders()) {
        if (h.host().equals(host)) {
          found = true;
          after.add(h.rebootingAt(clock.instant()));
        } else {
          after.add(h);
        }
      }
      if (!found) {
        return false;
      }
      if (replaceHolders(held, after)) {
        return true;
      }
    }
    throw contention();
  }

  /**
   * Gives back the slot of {@code host}, if it holds one.
   *
   * @return the slot given back, or empty when it held none
   */
  public Optional<SlotHolder> release(String host) {
    for (int i = 0; i < MAX_TRIES; i++) {
      Held held = snapshot().held();
      Optional<SlotHolder> mine =
          held.holders().stream().filter(h -> h.host().equals(host)).findFirst();
      if (mine.isEmpty()) {
        return mine;
      }
      List<SlotHolder> after = new ArrayList<>(held.holders());
      after.remove(mine.get());
      if (replaceHolders(held, after)) {
        return mine;
      }
    }
    throw contention();
  }

  /** Removes the record of {@code host} waiting for a slot, if there is one. */
  public void withdraw(String host) {
    await(
        client.getKVClient().delete(bytes(waiterKey(host))),
        "withdraw the waiting record of " + host);
  }

  /** Stops keeping the waiters' lease alive and revokes it: this host's waiter record goes. */
  @Override
  public void close() {
    synchronized (leaseLock) {
      if (keepAlive != null) {
        keepAlive.close();
        keepAlive = null;
      }
      if (lease != 0) {
        try {
          await(client.getLeaseClient().revoke(lease), "revoke the waiters' lease");
        } catch (FleetException e) {
          // the lease ends by itself within its TTL
        }
        lease = 0;
      }
    }
  }

  private void putWaiter(SlotWaiter w) {
    long id = lease();
    try {
      await(
          client
              .getKVClient()
              .put(
                  bytes(waiterKey(w.host())),
                  bytes(write(w)),
                  PutOption.builder().withLeaseId(id).build()),
          "record " + w.host() + " as waiting");
    } catch (FleetException e) {
      forgetLease(id); // it may have expired: the next try takes a new one
      throw e;
    }
  }

  /** The waiters' lease, kept alive while this semaphore is open; granted on first use. */
  private long lease() {
    synchronized (leaseLock) {
      if (lease != 0) {
        return lease;
      }
      long id =
          await(client.getLeaseClient().grant(Math.max(2, leaseTtl.toSeconds())), "grant a lease")
              .getID();
      lease = id;
      keepAlive =
          client
              .getLeaseClient()
              .keepAlive(
                  id,
                  new StreamObserver<LeaseKeepAliveResponse>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse value) {}

                    @Override
                    public void onError(Throwable t) {
                      forgetLease(id);
                    }

                    @Override
                    public void onCompleted() {
                      forgetLease(id);
                    }
                  });
      return id;
    }
  }

  private void forgetLease(long id) {
    synchronized (leaseLock) {
      if (lease == id) {
        lease = 0;
        if (keepAlive != null) {
          keepAlive.close();
          keepAlive = null;
        }
      }
    }
  }

  /** Replaces the holders if nobody changed them since {@code seen} was read. */
  private boolean replaceHolders(Held seen, List<SlotHolder> after, Op... also) {
    List<Op> ops = new ArrayList<>();
    ops.add(
        after.isEmpty()
            ? Op.delete(slotsKey, DeleteOption.DEFAULT)
            : Op.put(slotsKey, bytes(write(new Holders(after))), PutOption.DEFAULT));
    ops.addAll(List.of(also));
    TxnResponse r =
        await(
            client
                .getKVClient()
                .txn()
                .If(new Cmp(slotsKey, Cmp.Op.EQUAL, CmpTarget.modRevision(seen.modRevision())))
                .Then(ops.toArray(Op[]::new))
                .commit(),
            "change " + slotsKey());
    return r.isSucceeded();
  }

  /** The holders and the waiters at one revision. */
  private Snapshot snapshot() {
    ByteSequence waitingPrefix = bytes(prefix + "waiting/");
    TxnResponse r =
        await(
            client
                .getKVClient()
                .txn()
                .Then(
                    Op.get(slotsKey, GetOption.DEFAULT),
                    Op.get(waitingPrefix, GetOption.builder().isPrefix(true).build()))
                .commit(),
            "read " + prefix);
    GetResponse slotsGet = r.getGetResponses().get(0);
    Held held = new Held(List.of(), 0);
    if (!slotsGet.getKvs().isEmpty()) {
      KeyValue kv = slotsGet.getKvs().get(0);
      List<SlotHolder> holders = read(kv, Holders.class).holders();
      held = new Held(holders, kv.getModRevision());
    }
    List<Waiting> waiting = new ArrayList<>();
    for (KeyValue kv : r.getGetResponses().get(1).getKvs()) {
      waiting.add(new Waiting(read(kv, SlotWaiter.class), kv.getCreateRevision()));
    }
    waiting.sort(Comparator.comparingLong(Waiting::createRevision));
    return new Snapshot(held, waiting);
  }

  private static <T> T read(KeyValue kv, Class<T> type) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    try {
      return JSON.readValue(kv.getValue().getBytes(), type);
    } catch (java.io.IOException e) {
      throw new FleetException(
          "etcd key " + key + " does not hold a " + type.getSimpleName() + ": " + e.getMessage(),
          e);
    }
  }

  private static String write(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + value, e);
    }
  }

  private <T> T await(CompletableFuture<T> request, String what) {
    return fleet.await(request, what);
  }

  private FleetException contention() {
    return new FleetException(
        slotsKey() + " kept changing under " + MAX_TRIES + " tries; trying again later");
  }

  private static ByteSequence bytes(String s) {
    return Fleet.bytes(s);
  }
}
