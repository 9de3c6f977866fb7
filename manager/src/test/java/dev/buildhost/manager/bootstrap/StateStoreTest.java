package dev.buildhost.manager.bootstrap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bootstrapped states on disk: atomic publish, one winner, read-only, removal, leftovers. */
class StateStoreTest {

  @TempDir Path stateDir;

  private static BootstrappedState state(String instance) {
    return new BootstrappedState(
        "vm",
        "1.0",
        "/build/machines/vm/vm-1.0",
        "kvm",
        "stable",
        "0123456789abcdef",
        instance,
        Instant.parse("2026-12-01T12:00:00Z"),
        "disk.qcow2",
        null);
  }

  private static Path staged(StateStore store, String instance) throws Exception {
    Path staging = store.staging(instance);
    Files.writeString(staging.resolve("disk.qcow2"), "layer of " + instance);
    return staging;
  }

  @Test
  void aPublishedStateIsWholeReadOnlyAndListed() throws Exception {
    StateStore store = new StateStore(stateDir);
    Path staging = staged(store, "vm-1");

    assertTrue(store.publish(staging, state("vm-1")));

    assertFalse(Files.exists(staging));
    StateStore.Stored stored = store.find("vm", "1.0", "stable", "0123456789abcdef");
    assertNotNull(stored);
    assertEquals(state("vm-1"), stored.state());
    assertEquals("layer of vm-1", Files.readString(stored.diskPath()));
    assertEquals(
        "r--r--r--",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(stored.diskPath())));
    assertEquals(
        "r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(stored.folder())));
    assertEquals(List.of(stored), store.list());
    assertEquals("vm-1.0/stable@0123456789ab", stored.state().id());
    assertTrue(store.diskUse() > 0);
  }

  @Test
  void ofConcurrentPublishesOfOneStateExactlyOneWins() throws Exception {
    StateStore store = new StateStore(stateDir);
    int n = 8;
    List<Path> stagings = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      stagings.add(staged(store, "vm-" + i));
    }
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        Callable<Boolean> publish =
            () -> {
              go.await();
              return store.publish(stagings.get(k), state("vm-" + k));
            };
        results.add(pool.submit(publish));
      }
      go.countDown();
      int won = 0;
      String winner = null;
      for (int i = 0; i < n; i++) {
        if (results.get(i).get()) {
          won++;
          winner = "vm-" + i;
        }
      }
      assertEquals(1, won);
      StateStore.Stored stored = store.find("vm", "1.0", "stable", "0123456789abcdef");
      assertEquals(winner, stored.state().instance());
      assertEquals("layer of " + winner, Files.readString(stored.diskPath()));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void removingAStateLeavesNothing() throws Exception {
    StateStore store = new StateStore(stateDir);
    assertTrue(store.publish(staged(store, "vm-1"), state("vm-1")));
    StateStore.Stored stored = store.list().get(0);

    store.remove(stored);

    assertNull(store.find("vm", "1.0", "stable", "0123456789abcdef"));
    assertEquals(List.of(), store.list());
    assertFalse(Files.exists(store.dir().resolve("vm")), "empty parents are removed");
    assertEquals(0, store.reconcile(), "the removal left nothing in staging");
  }

  @Test
  void reconciliationRemovesWhatAnUnfinishedBootstrapLeft() throws Exception {
    StateStore store = new StateStore(stateDir);
    staged(store, "vm-killed");
    assertTrue(store.publish(staged(store, "vm-1"), state("vm-1")));

    assertEquals(1, store.reconcile());

    assertEquals(1, store.list().size(), "the published state stays");
    try (var left = Files.list(store.dir().resolve(StateStore.STAGING))) {
      assertEquals(0, left.count());
    }
  }
}
