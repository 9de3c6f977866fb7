package dev.buildhost.manager.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The removals of released guests' domains, with a libvirtd that is away and then back. */
class RetriedRemovalsTest {

  private boolean libvirtdAway;
  private final List<String> destroyed = new ArrayList<>();
  private final RetriedRemovals removals =
      new RetriedRemovals(
          "domain",
          "once libvirtd answers",
          name -> {
            if (libvirtdAway) {
              throw new BackendException("cannot connect to libvirtd at qemu:///system");
            }
            destroyed.add(name);
          });

  @Test
  void aDestroyThatWorksIsNotKept() {
    assertTrue(removals.remove("i1", "buildhost-i1"));

    removals.retry();

    assertEquals(List.of("buildhost-i1"), destroyed, "destroyed once, not again at the retry");
  }

  @Test
  void aDestroyWhileLibvirtdIsAwayIsTriedAgainOnceItIsBackAndThenForgotten() {
    libvirtdAway = true;
    assertFalse(removals.remove("i1", "buildhost-i1"));
    assertFalse(removals.remove("i2", "buildhost-i2"));
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
    removals.remove("i1", "buildhost-i1");
    removals.remove("i1", "buildhost-i1");

    libvirtdAway = false;
    removals.retry();

    assertEquals(List.of("buildhost-i1"), destroyed);
  }
}
