package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The destroys of released domains, with a libvirtd that is away and then back. */
class DomainRemovalsTest {

  private boolean libvirtdAway;
  private final List<String> destroyed = new ArrayList<>();
  private final DomainRemovals removals =
      new DomainRemovals(
          name -> {
            if (libvirtdAway) {
              throw new BackendException("cannot connect to libvirtd at qemu:///system");
            }
            destroyed.add(name);
          });

  @Test
  void aDestroyThatWorksIsNotKept() {
    assertTrue(removals.destroy("i1", "buildhost-i1"));

    removals.retry();

    assertEquals(List.of("buildhost-i1"), destroyed, "destroyed once, not again at the retry");
  }

  @Test
  void aDestroyWhileLibvirtdIsAwayIsTriedAgainOnceItIsBackAndThenForgotten() {
    libvirtdAway = true;
    assertFalse(removals.destroy("i1", "buildhost-i1"));
    assertFalse(removals.destroy("i2", "buildhost-i2"));
    removals.retry();
    assertEquals(List.of(), destroyed);

    libvirtdAway = false;
    removals.retry();
    removals.retry();

    assertEquals(List.of("buildhost-i1", "buildhost-i2"), destroyed.stream().sorted().toList());
  }

  @Test
  void aReleaseThatFailsTwiceIsKeptOnce() {
    libvirtdAway = true;
    removals.destroy("i1", "buildhost-i1");
    removals.destroy("i1", "buildhost-i1");

    libvirtdAway = false;
    removals.retry();

    assertEquals(List.of("buildhost-i1"), destroyed);
  }
}
